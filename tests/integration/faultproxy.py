#!/usr/bin/python3
"""A fault-injecting HTTP proxy for 127.0.0.1, seeded so that a run can be repeated.
usage: faultproxy.py UPSTREAM_PORT PORTFILE SEED RATE [STALL_SECONDS]
A fraction RATE of requests fails, evenly among: 503 SlowDown, 500, a stall (no answer for
STALL_SECONDS, then the connection closes), and for GET answers a reset in the middle of the body
(TCP RST) or a truncated body (the connection closes early).  A request with a body gets only the
faults that come before it reaches the server, so the server never applies a request twice.
The count of each fault is written to PORTFILE.stats when the proxy is stopped (SIGTERM).
With FAULTPROXY_FLIP=1 in the environment, every ranged GET answer also has one byte changed (its
middle one, XOR 1), a corruption that no transport check sees: only the ETag can.  With
FAULTPROXY_FLIP=all, so has every GET answer of an object (a path with no query), ranged or not.
With FAULTPROXY_LOSE=complete, the first answer to each CompleteMultipartUpload (a POST with an
uploadId) is lost after the server has applied it (the connection closes with no answer), and a
second one is answered 404 NoSuchUpload, as S3 may answer it (radosgw answers it 200 again).
With FAULTPROXY_SUM=good (or bad), a whole object's GET answer (no query, no Range) to a request
with x-amz-checksum-mode: ENABLED gets the x-amz-checksum-sha256 header S3 gives an object
uploaded with one: its SHA-256 in base64 (or that of other bytes)."""
import base64
import hashlib
import http.client
import os
import http.server
import random
import signal
import socket
import struct
import sys
import threading
import time

UP, PORTFILE, SEED, RATE = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
STALL = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
FLIP = os.environ.get("FAULTPROXY_FLIP", "")
LOSE = os.environ.get("FAULTPROXY_LOSE", "")
SUM = os.environ.get("FAULTPROXY_SUM", "")
lost = set()
rng = random.Random(SEED)
lock = threading.Lock()
stats = {"requests": 0, "slowdown": 0, "500": 0, "stall": 0, "reset": 0, "truncate": 0, "flip": 0,
         "lost": 0, "sum": 0}
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def pick(has_body, method):
    with lock:
        stats["requests"] += 1
        if rng.random() >= RATE:
            return None
        kinds = ["slowdown", "500", "stall"]
        if method == "GET":
            kinds += ["reset", "truncate"]
        k = rng.choice(kinds)
        stats[k] += 1
        return k


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def error(self, code, s3code):
        body = ("<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>injected</Message>"
                "</Error>" % s3code).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else None
        if LOSE == "complete" and self.command == "POST" and "uploadId=" in self.path:
            with lock:
                again = self.path in lost
            if again:
                return self.error(404, "NoSuchUpload")
        fault = pick(body is not None, self.command)
        if fault == "slowdown":
            return self.error(503, "SlowDown")
        if fault == "500":
            return self.error(500, "InternalError")
        if fault == "stall":
            time.sleep(STALL)
            self.close_connection = True
            return
        up = http.client.HTTPConnection("127.0.0.1", UP, timeout=60)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        up.request(self.command, self.path, body=body, headers=hdrs)
        r = up.getresponse()
        data = r.read() if self.command != "HEAD" else b""
        if LOSE == "complete" and self.command == "POST" and "uploadId=" in self.path:
            with lock:
                first = self.path not in lost
                lost.add(self.path)
                stats["lost"] += first
            if first:
                up.close()
                self.close_connection = True
                return
        if self.command == "GET" and r.status in (200, 206) and data and \
                ((FLIP == "1" and "Range" in self.headers) or (FLIP == "all" and "?" not in self.path)):
            with lock:
                stats["flip"] += 1
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]
        self.send_response(r.status)
        if SUM and self.command == "GET" and r.status == 200 and "?" not in self.path and \
                "Range" not in self.headers and \
                self.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            with lock:
                stats["sum"] += 1
            d = hashlib.sha256(data if SUM == "good" else data + b"!").digest()
            self.send_header("x-amz-checksum-sha256", base64.b64encode(d).decode())
        for k, v in r.getheaders():
            if k.lower() not in HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                self.send_header(k, v)
        if self.command != "HEAD":  # the body is read whole: a chunked answer (a listing) too
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault in ("reset", "truncate") and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self.wfile.write(data)
        up.close()

    def handle_quiet(self):
        try:
            self.handle_any()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_quiet


def stop(*a):
    with open(PORTFILE + ".stats", "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in stats.items()) + "\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up mid-answer is part of the test


srv = Server(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
