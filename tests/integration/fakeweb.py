#!/usr/bin/python3
"""A canned DICOMweb server on 127.0.0.1 for the multipart parser of m3-fetch (no real PACS).
usage: fakeweb.py PORTFILE DIR
The parts are DIR/*.dcm (sorted) and then DIR/*.bin (bytes that are not DICOM).  The first
path segment picks the behaviour: /MODE/dicom-web/studies/...
  ok        multipart/related with a quoted boundary (spaces, a colon), a preamble that
            mentions the boundary, parts with and without Content-Length and with no headers,
            transport padding after a delimiter, an epilogue; no Content-Length, and every
            delimiter split across two writes
  trunc     the same, but the connection closes in the middle of the second part
  trunclen  Content-Length says more than is sent, then the connection closes
  busy      503 always
  auth      401 unless Authorization is Basic tester:pw-fake-1234 or Bearer tok-fake-5678
  any other 404
QIDO (Accept: application/dicom+json): .../series and .../instances give canned JSON.
Every request is appended to DIR/requests (method, path, Authorization present or not).
"""
import base64
import glob
import http.server
import json
import os
import socket
import sys
import time

DIR = sys.argv[2]
B = "=_m3 fake:boundary 42"


def parts():
    files = sorted(glob.glob(os.path.join(DIR, "*.dcm"))) + sorted(glob.glob(os.path.join(DIR, "*.bin")))
    return [open(f, "rb").read() for f in files]


def body(data):
    out = [b"This is a preamble. --" + B.encode() + b"x is not a delimiter.\r\n"]
    for i, p in enumerate(data):
        pad = b"  \t" if i == 1 else b""
        out.append(b"--" + B.encode() + pad + b"\r\n")
        if i % 3 == 0:
            out.append(b"Content-Type: application/dicom\r\nContent-Length: %d\r\n" % len(p))
        elif i % 3 == 1:
            out.append(b"content-type: Application/DICOM; transfer-syntax=1.2.840.10008.1.2.1\r\n")
        out.append(b"\r\n" + p + b"\r\n")
    out.append(b"--" + B.encode() + b"--\r\nAn epilogue, ignored.\r\n")
    return b"".join(out)


def instance(i, sop):
    return {"00080018": {"vr": "UI", "Value": [sop]}, "00200013": {"vr": "IS", "Value": [i]},
            "0020000E": {"vr": "UI", "Value": ["1.2.3.4"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^J\u00e9"}]}}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, data=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        mode = self.path.split("/")[1]
        auth = self.headers.get("Authorization")
        with open(os.path.join(DIR, "requests"), "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, "auth" if auth else "-"))
        if mode == "busy":
            return self.reply(503, b"busy")
        if mode == "auth":
            good = ["Basic " + base64.b64encode(b"tester:pw-fake-1234").decode(), "Bearer tok-fake-5678"]
            if auth not in good:
                return self.reply(401, b"who are you")
        if mode not in ("ok", "trunc", "trunclen", "auth") or "/9.9.9" in self.path:
            return self.reply(404, b"not found")
        if "dicom+json" in self.headers.get("Accept", ""):
            path = self.path.split("?")[0]
            if path.endswith("/series"):
                js = [{"0020000E": {"vr": "UI", "Value": ["1.2.3.4"]},
                       "00080060": {"vr": "CS", "Value": ["CT"]},
                       "00200011": {"vr": "IS", "Value": [7]},
                       "00201209": {"vr": "IS", "Value": [3]},
                       "0008103E": {"vr": "LO", "Value": ["a \"quoted\" \\ name [x]"]}}]
            elif path.endswith("/instances"):
                js = [instance(i + 1, "1.2.3.4.%d" % (i + 1)) for i in range(3)]
            else:
                js = []
            return self.reply(200, json.dumps(js, indent=1).encode(), "application/dicom+json")
        data = parts()
        if "/instances/" in self.path:
            data = data[:1]
        b = body(data)
        self.send_response(200)
        self.send_header("Content-Type", 'multipart/related; boundary="%s"; type="application/dicom"' % B)
        if mode == "trunclen":
            self.send_header("Content-Length", str(len(b) + 1000))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if mode in ("trunc", "trunclen"):
            second = b.find(b"--" + B.encode(), b.find(b"--" + B.encode() + b"\r\n") + 10)
            b = b[: second + 200]
        # every delimiter split in two writes, apart in time, so it spans two reads
        pos = 0
        while True:
            k = b.find(B.encode(), pos)
            if k < 0:
                break
            self.wfile.write(b[pos:k + 5])
            self.wfile.flush()
            time.sleep(0.02)
            pos = k + 5
        self.wfile.write(b[pos:])
        self.wfile.flush()
        self.close_connection = True


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
