#!/usr/bin/python3
"""A fake S3 GET of one object on 127.0.0.1 that misbehaves with ranges, for m3-fetch's tests.
usage: fakerange.py PORTFILE FILE MODE [ETAG]
Every path serves the bytes of FILE, with ETag ETAG (default: their MD5), no signature checked
(use --no-sign-request).  Requests are counted from 1 (GETs only); MODE says what goes wrong:
- ok: every Range honoured (206 and Content-Range)
- first200: a GET from byte 0 ignores its Range: 200 and the whole object; the others are
  honoured
- reset200: the first GET is cut after a third of its answer (the connection closes); the second
  ignores its Range: 200 from byte 0; the others are honoured
- slow0: every Range honoured, but an answer from byte 0 is sent at about 32 MB/s
The log of "N METHOD RANGE STATUS" lines is appended to PORTFILE.log."""
import hashlib
import http.server
import os
import re
import socket
import sys
import threading
import time

PORTFILE, FILE, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = open(FILE, "rb").read()
ETAG = sys.argv[4] if len(sys.argv) > 4 else hashlib.md5(DATA).hexdigest()
lock = threading.Lock()
count = [0]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, BrokenPipeError):
            pass

    def log(self, n, rng, status):
        with lock, open(PORTFILE + ".log", "a") as f:
            f.write("%d %s %s %d\n" % (n, self.command, rng or "-", status))

    def do_GET(self):
        with lock:
            count[0] += 1
            n = count[0]
        rng = self.headers.get("Range")
        m = re.match(r"bytes=(\d+)-(\d*)$", rng or "")
        a, b = 0, len(DATA) - 1
        if m:
            a = int(m.group(1))
            if m.group(2):
                b = min(int(m.group(2)), len(DATA) - 1)
        ignore = m is None or (MODE == "first200" and a == 0) or (MODE == "reset200" and n == 2)
        if ignore:
            a, b = 0, len(DATA) - 1
        body = DATA[a:b + 1]
        status = 200 if ignore else 206
        self.log(n, rng, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"%s"' % ETAG)
        self.send_header("Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(DATA)))
        self.end_headers()
        if MODE == "reset200" and n == 1:
            self.wfile.write(body[:len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if MODE == "slow0" and a == 0:
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
                time.sleep(0.002)
            return
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
