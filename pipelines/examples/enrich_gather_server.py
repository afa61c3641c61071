#!/usr/bin/env python3
"""The local API enrich_gather.toml calls (the golden test serves the same answers itself).

    python3 pipelines/examples/enrich_gather_server.py [PORT]   # default 8765

/profile/ID -> {"name": "user ID"}
/risk/ID    -> {"score": ID * 7 % 100}, after 3 s when ID is divisible by 4
/geo/ID     -> {"country": ...}, or 500 when ID is divisible by 5
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTRIES = ["FR", "DE", "JP"]


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or not parts[1].isdigit():
            return self.answer(404, {"error": "not found"})
        api, ident = parts[0], int(parts[1])
        if api == "profile":
            return self.answer(200, {"name": "user %d" % ident})
        if api == "risk":
            if ident % 4 == 0:
                time.sleep(3)
            return self.answer(200, {"score": ident * 7 % 100})
        if api == "geo":
            if ident % 5 == 0:
                return self.answer(500, {"error": "geo backend down"})
            return self.answer(200, {"country": COUNTRIES[ident % 3]})
        return self.answer(404, {"error": "not found"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (its timeout): nothing to answer


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    ThreadingHTTPServer.request_queue_size = 128  # every request of a batch at once
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Api).serve_forever()
