"""A service behind `auth serve --upstream`, in Python's standard library only: it answers
every request with what it received (method, path, headers, body length, chunked bodies
decoded) as JSON, keeps a
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
        received = self.read_body()
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

    def read_body(self):
        """Reads the whole body, `content-length` or chunked (RFC 9112 §7.1), and returns its
        length: a body left unread would be answered before it ends, and the connection
        closed under a sender still writing it."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            received = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    return received
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailer fields, then the empty line.
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return received
                data = self.rfile.read(size)
                received += len(data)
                self.rfile.readline(1024)  # the CRLF after the chunk
        length = int(self.headers.get("content-length") or 0)
        received = 0
        while received < length:
            chunk = self.rfile.read(min(65536, length - received))
            if not chunk:
                break
            received += len(chunk)
        return received

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
