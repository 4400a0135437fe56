#!/usr/bin/python3
"""A tiny webhook receiver for the demo: prints the port it listens on
(127.0.0.1, chosen by the kernel), then appends each POST body as one line
to the file named on the command line, and answers 200."""
import http.server
import json
import sys

OUT = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps(json.loads(body)) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
