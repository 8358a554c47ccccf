"""A fake LLM provider for the tests: an OpenAI-compatible chat-completions server on 127.0.0.1 that
speaks the real protocol (JSON and server-sent-event streams, usage, 429 with Retry-After) over a real
socket, and logs every request (model, system prompt, messages) for the test to inspect.

Run in a thread (`FakeLLM()` as a context manager) or as a script (`python fake_llm.py PORTFILE LOG`)
when it must live in another network namespace."""
from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any


class FakeLLM:
    def __init__(self, log: Path | None = None, reply: str = "hello from the fake model",
                 rate_limited: set[str] | None = None, retry_after: str = "1") -> None:
        self.requests: list[dict[str, Any]] = []
        self.log = log
        self.reply = reply
        self.rate_limited = rate_limited or set()
        self.retry_after = retry_after
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def chats(self) -> list[dict[str, Any]]:
        """Chat requests other than opencode's title generation."""
        return [r for r in self.requests if r["path"].endswith("/chat/completions")
                and not r["system"].startswith("You are a title generator")]

    def _record(self, entry: dict[str, Any]) -> None:
        self.requests.append(entry)
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._json(200, {"object": "list", "data": [{"id": "m1", "object": "model"}]})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                messages = body.get("messages") or []
                system = "\n".join(m.get("content") if isinstance(m.get("content"), str) else
                                   json.dumps(m.get("content")) for m in messages if m.get("role") == "system")
                entry = {"path": self.path, "model": body.get("model"), "system": system,
                         "messages": messages, "stream": bool(body.get("stream")),
                         "authorization": self.headers.get("Authorization", ""), "time": time.time()}
                fake._record(entry)
                if body.get("model") in fake.rate_limited:
                    self._json(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                               {"Retry-After": fake.retry_after})
                    return
                usage = {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107}
                if not body.get("stream"):
                    self._json(200, {"id": "c1", "object": "chat.completion", "created": 0,
                                     "model": body.get("model"), "usage": usage, "choices": [
                                         {"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": fake.reply}}]})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model")}
                chunks = [
                    {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": fake.reply},
                                          "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {**base, "choices": [], "usage": usage},
                ]
                for chunk in chunks:
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


if __name__ == "__main__":
    port_file, log = Path(sys.argv[1]), Path(sys.argv[2])
    with FakeLLM(log=log) as fake:
        port_file.write_text(fake.url)
        while True:
            time.sleep(3600)
