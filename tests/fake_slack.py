"""A Slack incoming webhook for the tests, on 127.0.0.1 over a real socket, speaking Slack's protocol: a
POST of a JSON body with `text` is answered `ok` (200), one without text `invalid_payload` (400). With
`hang`, a request is read and never answered. Every request is kept (`posts`)."""
from __future__ import annotations

import http.server
import json
import threading
import time


class Slack:
    """A Slack incoming webhook on 127.0.0.1: POST a JSON body with `text`, answered `ok` (200), or
    `invalid_payload` (400) without text — or, with `hang`, never answered."""

    def __init__(self, hang: bool = False) -> None:
        self.posts: list[dict] = []
        self.hang = hang
        slack = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                slack.posts.append({"path": self.path, "type": self.headers["Content-Type"], "body": body})
                if slack.hang:
                    time.sleep(5)
                    return
                ok = isinstance(body.get("text"), str) and body["text"]
                answer = b"ok" if ok else b"invalid_payload"
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    def __enter__(self) -> Slack:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
