#!/usr/bin/python3
"""A tiny fake of S3, IMDSv2 and a webhook on 127.0.0.1, for tests that need no real server.
usage: fakes3.py PORTFILE LOGDIR
- IMDSv2: PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
- S3: HEAD/GET/PUT of any other path, kept in memory; every request must carry a SigV4
  Authorization with Credential=<FAKE_KEY_ID>/ (env), else 403 (checks who signed, not the
  signature itself: the real checks are against radosgw)
- POST /hook: the body and X-M3-Signature are written to LOGDIR/hook.body and hook.sig
"""
import http.server
import json
import os
import sys

KEY = os.environ.get("FAKE_KEY_ID", "AKIDFAKEIMDS")
SECRET = os.environ.get("FAKE_SECRET", "fakeSecretFromImds0123456789")
TOKEN = os.environ.get("FAKE_TOKEN", "fakeSessionTokenFromImds")
store = {}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="application/xml", head=False, etag=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", '"%s"' % etag)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def signed(self):
        auth = self.headers.get("Authorization", "")
        tok = self.headers.get("X-Amz-Security-Token")
        want_tok = os.environ.get("FAKE_WANT_TOKEN")
        if "Credential=%s/" % KEY not in auth or (want_tok and tok != want_tok):
            self.reply(403, b"<Error><Code>AccessDenied</Code></Error>", head=self.command == "HEAD")
            return False
        return True

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_PUT(self):
        data = self.body()
        if self.path == "/latest/api/token":
            return self.reply(200, b"imds-session-token", "text/plain")
        if not self.signed():
            return
        import hashlib
        store[self.path.split("?")[0]] = data
        self.reply(200, b"", etag=hashlib.md5(data).hexdigest())

    def do_POST(self):
        data = self.body()
        if self.path == "/hook":
            d = sys.argv[2]
            open(os.path.join(d, "hook.body"), "wb").write(data)
            open(os.path.join(d, "hook.sig"), "w").write(self.headers.get("X-M3-Signature", ""))
            return self.reply(200, b"{}", "application/json")
        self.reply(404)

    def get(self, head):
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return self.reply(401, head=head)
            if self.path.endswith("/security-credentials/"):
                return self.reply(200, b"m3role", "text/plain", head)
            js = json.dumps({"Code": "Success", "AccessKeyId": KEY, "SecretAccessKey": SECRET,
                             "Token": TOKEN, "Expiration": "2099-01-01T00:00:00Z"})
            return self.reply(200, js.encode(), "application/json", head)
        if not self.signed():
            return
        import hashlib
        data = store.get(self.path.split("?")[0], b"hello from fakes3\n")
        self.reply(200, data, "application/octet-stream", head, hashlib.md5(data).hexdigest())

    def do_GET(self):
        self.get(False)

    def do_HEAD(self):
        self.get(True)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
