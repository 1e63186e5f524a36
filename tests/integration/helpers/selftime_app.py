#!/usr/bin/env python3
"""Processes for the sidecar self-time test (sidecar_selftime.sh), stdlib only.

  selftime_app.py upstream PORT SLEEP_MS
      Service B: every GET sleeps SLEEP_MS ms, then answers "b".
  selftime_app.py app PORT OUTBOUND_PORT S1_MS S2_MS
      Service A, behind its sidecar. GET /traced and /untraced both: sleep
      S1_MS ms (own work), call B twice one after the other, then twice at
      the same time (two threads), then sleep S2_MS ms; every call to B goes
      through the sidecar's outbound listener as an HTTP proxy
      ("GET http://b/... HTTP/1.1"). /traced propagates the incoming
      traceparent and baggage; /untraced only the baggage, so the sidecar
      cannot tie those calls to the request. Answers 200 with JSON
      {"handler_us": D, "calls_union_us": U}: the handler's duration and the
      union of its calls to B as the app itself timed them (microseconds), or
      502 when a call failed.
  selftime_app.py report-tee PORT CONTROLLER_HOST:PORT OUT_FILE
      Stands between the sidecar and the real slate-controller: forwards
      every request (reports, route long-polls) and its answer unchanged,
      and appends each POST /v1/reports body, with the controller's status,
      to OUT_FILE as one JSON line {"status": S, "report": {...}}. Neither the
      controller nor the sidecar's admin port shows the self-time histograms
      a sidecar reports; this is where the test reads them.

All listen on 127.0.0.1 with HTTP/1.1 keep-alive and TCP_NODELAY (without it,
Nagle and delayed ACKs add 40 ms to keep-alive exchanges: far larger than the
self-time being measured).
"""
import http.client
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4 * 1024 * 1024  # the controller's report limit (common/report.h)
CALL_TIMEOUT_S = 10


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="text/plain", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def upstream(port, sleep_ms):
    class Upstream(QuietHandler):
        def do_GET(self):
            time.sleep(sleep_ms / 1e3)
            self.reply(200, "b\n")

    ThreadingHTTPServer(("127.0.0.1", port), Upstream).serve_forever()


def union_us(intervals):
    """Length of the union of [start, end) intervals, in their unit."""
    total, cur_lo, cur_hi = 0.0, None, None
    for lo, hi in sorted(intervals):
        if cur_hi is None or lo > cur_hi:
            if cur_hi is not None:
                total += cur_hi - cur_lo
            cur_lo, cur_hi = lo, hi
        else:
            cur_hi = max(cur_hi, hi)
    if cur_hi is not None:
        total += cur_hi - cur_lo
    return total


def app(port, outbound_port, s1_ms, s2_ms):
    # Idle keep-alive connections to the sidecar's outbound listener: a call
    # takes one (or opens one) and puts it back, so connecting is not part of
    # the time A spends between its calls.
    idle = []
    idle_lock = threading.Lock()

    def call_b(headers, results, slot):
        """One GET to B through the sidecar; stores (start_us, end_us, status)."""
        start = time.monotonic()
        status = 0
        with idle_lock:
            conn = idle.pop() if idle else None
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", outbound_port, timeout=CALL_TIMEOUT_S)
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.request("GET", "http://b/sleep", headers=dict(headers, Host="b"))
            resp = conn.getresponse()
            resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            if conn is not None:
                conn.close()
            conn = None
        end = time.monotonic()
        if conn is not None:
            with idle_lock:
                idle.append(conn)
        results[slot] = (start * 1e6, end * 1e6, status)

    class App(QuietHandler):
        def do_GET(self):
            if not (self.path.startswith("/traced") or self.path.startswith("/untraced")):
                self.reply(404, "unknown path\n")
                return
            begin = time.monotonic()
            names = ["baggage"] if self.path.startswith("/untraced") else ["traceparent", "baggage"]
            headers = {n: self.headers[n] for n in names if self.headers.get(n) is not None}
            results = [None] * 4
            time.sleep(s1_ms / 1e3)
            call_b(headers, results, 0)
            call_b(headers, results, 1)
            pair = [threading.Thread(target=call_b, args=(headers, results, i)) for i in (2, 3)]
            for t in pair:
                t.start()
            for t in pair:
                t.join(CALL_TIMEOUT_S + 1)
            time.sleep(s2_ms / 1e3)
            end = time.monotonic()
            if any(r is None or r[2] != 200 for r in results):
                self.reply(502, json.dumps({"calls": results}))
                return
            body = {"handler_us": (end - begin) * 1e6,
                    "calls_union_us": union_us([(r[0], r[1]) for r in results])}
            self.reply(200, json.dumps(body), "application/json")

    ThreadingHTTPServer(("127.0.0.1", port), App).serve_forever()


def report_tee(port, controller, out_path):
    host, _, ctl_port = controller.rpartition(":")
    lock = threading.Lock()
    forwarded = ("Authorization", "Content-Type", "If-None-Match")

    class Tee(QuietHandler):
        def forward(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY:
                self.reply(413, "body too large\n")
                return
            body = self.rfile.read(length) if length else None
            headers = {n: self.headers[n] for n in forwarded if self.headers.get(n) is not None}
            try:
                # Route long-polls wait up to 30 s at the controller.
                conn = http.client.HTTPConnection(host, int(ctl_port), timeout=40)
                conn.request(method, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                extra = [(n, resp.getheader(n)) for n in ("ETag",) if resp.getheader(n)]
                content_type = resp.getheader("Content-Type") or "application/json"
                conn.close()
            except OSError as e:
                self.reply(502, f"controller unreachable: {e}\n")
                return
            if method == "POST" and self.path == "/v1/reports":
                try:
                    line = json.dumps({"status": status, "report": json.loads(body)})
                except ValueError:
                    line = json.dumps({"status": status, "unparsable": len(body or b"")})
                with lock, open(out_path, "a") as f:
                    f.write(line + "\n")
            self.reply(status, data, content_type, extra)

        def do_GET(self):
            self.forward("GET")

        def do_POST(self):
            self.forward("POST")

    ThreadingHTTPServer(("127.0.0.1", port), Tee).serve_forever()


def main(argv):
    ThreadingHTTPServer.daemon_threads = True
    if len(argv) == 4 and argv[1] == "upstream":
        upstream(int(argv[2]), float(argv[3]))
    elif len(argv) == 6 and argv[1] == "app":
        app(int(argv[2]), int(argv[3]), float(argv[4]), float(argv[5]))
    elif len(argv) == 5 and argv[1] == "report-tee":
        report_tee(int(argv[2]), argv[3], argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
