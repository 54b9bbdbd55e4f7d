"""A service behind `auth serve --upstream`, in Python's standard library only: it answers
every request with what it received (method, path, headers, body length) as JSON, keeps a
list of them for the test (`GET /__seen`, which it does not record), answers `/status/N` with
status N, `/slow/SECS` after SECS seconds, and `/reset` with a body cut off mid-way. Prints `listening on PORT` once bound."""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEEN = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        if self.path == "/__seen":
            with LOCK:
                body = json.dumps(SEEN).encode()
            return self.send(200, body)
        length = int(self.headers.get("content-length") or 0)
        received = 0
        while received < length:
            chunk = self.rfile.read(min(65536, length - received))
            if not chunk:
                break
            received += len(chunk)
        seen = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_bytes": received,
        }
        with LOCK:
            SEEN.append(seen)
        if self.path == "/reset":
            # A head promising 100000 bytes, 10 of them, then the connection dropped.
            self.send_response(200)
            self.send_header("content-length", "100000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status = 200
        if self.path.startswith("/status/"):
            status = int(self.path.split("/")[2])
        elif self.path.startswith("/slow/"):
            time.sleep(float(self.path.split("/")[2]))
        self.send(status, json.dumps(seen).encode())

    def send(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
sys.stdout.close()
server.serve_forever()
