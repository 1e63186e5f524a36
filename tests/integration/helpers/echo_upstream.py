#!/usr/bin/env python3
"""A test upstream for the sidecar tests (stdlib only): answers GET with its
name (or, at /headers, the request headers as JSON), POST/PUT with the
sha256 and length of the body (Content-Length or chunked), /slow after 1 s.
Listens on 127.0.0.1:PORT (argv[1]) with HTTP/1.1 keep-alive; name argv[2]."""
import hashlib
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and delayed ACKs add 40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, body, code=200):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(1)
        if self.path.startswith("/headers"):
            self.reply(json.dumps({k.lower(): v for k, v in self.headers.items()}))
        else:
            self.reply(NAME + "\n")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out), "chunked"
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n), "length"

    def do_POST(self):
        body, framing = self.read_body()
        self.reply(f"{hashlib.sha256(body).hexdigest()} {len(body)} {framing} {NAME}\n")

    do_PUT = do_POST


NAME = sys.argv[2]
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
