"""A fake LLM provider for the tests: a server on 127.0.0.1 that speaks, over a real socket, the real
protocols of the providers the bridge reaches — OpenAI-compatible chat completions (`…/chat/completions`),
the Anthropic Messages API (`…/messages`), the OpenAI Responses API (`…/responses`) and Google Gemini
(`…/models/M:streamGenerateContent?alt=sse`, `:generateContent`) — with JSON and server-sent-event
streams, token usage, and 429 with Retry-After in each protocol's error shape. Every request is logged
(protocol, model, system prompt, messages, the credential it carried, the whole body and headers) for the
test to inspect.

The model can also act: `tool_calls` maps a text to the tool calls (name, arguments) the model answers a
prompt containing it with — in the chat protocol, as OpenAI's function calls — so opencode runs them
(`write` writes a file) and asks again with their results, which the model then answers with `reply`.

A test can make it misbehave as real servers do, per model: answer 429 (`rate_limited`), answer another
status such as 500 or 401 in the protocol's error shape (`fail`), or accept the request and never answer
(`hang`); and it can require a header on every request (`require_header`), answering 401 without it.

Run in a thread (`FakeLLM()` as a context manager) or as a script (`python fake_llm.py PORTFILE LOG`)
when it must live in another network namespace (`… PORTFILE LOG PORT` to take a given port there)."""
from __future__ import annotations

import http.server
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

# Token usage each protocol reports per response: different numbers, so a test can tell whose usage
# reached state.json.
USAGE = {"chat": (100, 7), "anthropic": (200, 11), "responses": (300, 13), "google": (400, 17)}
RATE_LIMITED = {
    "chat": {"error": {"message": "rate limited", "type": "rate_limit"}},
    "anthropic": {"type": "error", "error": {"type": "rate_limit_error", "message": "rate limited"}},
    "responses": {"error": {"message": "rate limited", "type": "requests", "param": None,
                            "code": "rate_limit_exceeded"}},
    "google": {"error": {"code": 429, "message": "Resource has been exhausted",
                         "status": "RESOURCE_EXHAUSTED"}},
}


def error_body(protocol: str, status: int, message: str) -> dict[str, Any]:
    """An error response of `status` in the protocol's own shape."""
    if status == 429:
        return RATE_LIMITED[protocol]
    if protocol == "anthropic":
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                529: "overloaded_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    if protocol == "google":
        return {"error": {"code": status, "message": message, "status": "INTERNAL" if status >= 500 else "INVALID"}}
    return {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error",
                      "param": None, "code": None}}


def protocol_of(path: str) -> str:
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    if ":streamGenerateContent" in path or ":generateContent" in path:
        return "google"
    return "chat"


def _text(content: Any) -> str:
    """Text of a message content in any of the protocols' shapes (a string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return _text(content.get("parts") or content.get("text") or "")
    return "\n".join(_text(p.get("text", p.get("parts", ""))) if isinstance(p, dict) else str(p)
                     for p in content or [])


def _parse_chat(path: str, body: dict[str, Any]) -> tuple[str, str, list[Any]]:
    messages = body.get("messages") or []
    system = "\n".join(m.get("content") if isinstance(m.get("content"), str) else
                       json.dumps(m.get("content")) for m in messages if m.get("role") == "system")
    return body.get("model"), system, messages


def _parse_anthropic(path: str, body: dict[str, Any]) -> tuple[str, str, list[Any]]:
    return body.get("model"), _text(body.get("system") or ""), body.get("messages") or []


def _parse_responses(path: str, body: dict[str, Any]) -> tuple[str, str, list[Any]]:
    items = body.get("input") or []
    system = [_text(i.get("content")) for i in items if i.get("role") in ("system", "developer")]
    if body.get("instructions"):
        system.insert(0, body["instructions"])
    rest = [i for i in items if i.get("role") not in ("system", "developer")]
    return body.get("model"), "\n".join(system), rest


def _parse_google(path: str, body: dict[str, Any]) -> tuple[str, str, list[Any]]:
    model = path.rsplit("/models/", 1)[-1].split(":", 1)[0]
    return model, _text(body.get("systemInstruction") or ""), body.get("contents") or []


PARSE: dict[str, Callable[[str, dict[str, Any]], tuple[str, str, list[Any]]]] = {
    "chat": _parse_chat, "anthropic": _parse_anthropic, "responses": _parse_responses,
    "google": _parse_google}


def last_user_text(messages: list[Any]) -> str:
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return _text(users[-1].get("content", users[-1].get("parts"))) if users else ""


class FakeLLM:
    def __init__(self, log: Path | None = None, reply: str = "hello from the fake model",
                 rate_limited: set[str] | None = None, retry_after: str = "1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.log = log
        self.reply = reply
        self.rate_limited = rate_limited or set()
        self.retry_after = retry_after
        self.fail: dict[str, int] = {}  # model → HTTP status it answers with
        self.hang: set[str] = set()  # models whose requests are accepted and never answered
        self.require_header: tuple[str, str] | None = None  # (name, value) every request must carry
        self.tool_calls: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # prompt text → calls to answer with
        self._closing = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # hanging requests give up
        self.server.shutdown()
        self.server.server_close()

    def chats(self, protocol: str = "chat") -> list[dict[str, Any]]:
        """Requests of one protocol other than opencode's title generation."""
        return [r for r in self.requests if r["protocol"] == protocol
                and not r["system"].startswith("You are a title generator")]

    def calls_for(self, protocol: str, system: str, messages: list[Any]) -> list[tuple[str, dict[str, Any]]]:
        """The tool calls to answer with: those of the first `tool_calls` text the prompt contains, when
        the conversation's last message is the user's (after a tool result, the model answers in words)."""
        if protocol != "chat" or not messages or system.startswith("You are a title generator"):
            return []
        last = messages[-1]
        if not isinstance(last, dict) or last.get("role") != "user":
            return []
        text = last_user_text(messages)
        return next((calls for key, calls in self.tool_calls.items() if key in text), [])

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

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "m1", "object": "model"}]})

            def _sse(self, events: list[tuple[str | None, Any]], done: bool = False) -> None:
                """Server-sent events, one `data:` line each (with its `event:` name when the protocol
                has one), then the connection closes as the real services do."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for name, data in events:
                    head = f"event: {name}\n".encode() if name else b""
                    self.wfile.write(head + b"data: " + json.dumps(data).encode() + b"\n\n")
                if done:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                url = urllib.parse.urlsplit(self.path)
                protocol = protocol_of(url.path)
                model, system, messages = PARSE[protocol](url.path, body)
                stream = bool(body.get("stream")) or ":streamGenerateContent" in url.path
                query = urllib.parse.parse_qs(url.query)
                # The credential, wherever the protocol carries it (a Bearer token, x-api-key,
                # x-goog-api-key or Gemini's ?key=).
                key = (self.headers.get("x-api-key") or self.headers.get("x-goog-api-key")
                       or (query.get("key") or [""])[0]
                       or self.headers.get("Authorization", "").removeprefix("Bearer "))
                required = fake.require_header
                if model in fake.rate_limited:
                    status = 429
                elif required and self.headers.get(required[0]) != required[1]:
                    status = 401
                else:
                    status = fake.fail.get(model, 200)
                entry = {"path": self.path, "protocol": protocol, "model": model, "system": system,
                         "messages": messages, "user": last_user_text(messages), "stream": stream,
                         "authorization": self.headers.get("Authorization", ""), "key": key,
                         "body": body, "headers": {k.lower(): v for k, v in self.headers.items()},
                         "time": time.time(), "status": "hang" if model in fake.hang else status}
                fake._record(entry)
                if model in fake.hang:
                    fake._closing.wait(600)  # the connection stays open, with not one byte sent
                    return
                if status != 200:
                    message = "missing credentials" if status == 401 else f"the fake answers {status} for {model}"
                    self._json(status, error_body(protocol, status, message),
                               {"Retry-After": fake.retry_after} if status == 429 else None)
                    return
                reply, (tokens_in, tokens_out) = fake.reply, USAGE[protocol]
                calls = fake.calls_for(protocol, system, messages)
                if calls:
                    self._chat_tools(model, calls, tokens_in, tokens_out, stream)
                elif protocol == "anthropic":
                    self._anthropic(model, reply, tokens_in, tokens_out, stream)
                elif protocol == "responses":
                    self._responses(model, reply, tokens_in, tokens_out, stream)
                elif protocol == "google":
                    self._google(model, reply, tokens_in, tokens_out, stream)
                else:
                    self._chat(model, reply, tokens_in, tokens_out, stream)

            def _chat(self, model: str, reply: str, tokens_in: int, tokens_out: int, stream: bool) -> None:
                usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                         "total_tokens": tokens_in + tokens_out}
                if not stream:
                    self._json(200, {"id": "c1", "object": "chat.completion", "created": 0,
                                     "model": model, "usage": usage, "choices": [
                                         {"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": reply}}]})
                    return
                base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}
                self._sse([(None, chunk) for chunk in (
                    {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": reply},
                                          "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                    {**base, "choices": [], "usage": usage},
                )], done=True)

            def _chat_tools(self, model: str, calls: list[tuple[str, dict[str, Any]]], tokens_in: int,
                            tokens_out: int, stream: bool) -> None:
                usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                         "total_tokens": tokens_in + tokens_out}
                listed = [{"id": f"call_{i + 1}", "type": "function",
                           "function": {"name": name, "arguments": json.dumps(args)}}
                          for i, (name, args) in enumerate(calls)]
                if not stream:
                    self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": model,
                                     "usage": usage, "choices": [{"index": 0, "finish_reason": "tool_calls",
                                                                  "message": {"role": "assistant", "content": None,
                                                                              "tool_calls": listed}}]})
                    return
                base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}
                deltas = [{"index": i, **call} for i, call in enumerate(listed)]
                self._sse([(None, chunk) for chunk in (
                    {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": deltas},
                                          "finish_reason": None}]},
                    {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
                    {**base, "choices": [], "usage": usage},
                )], done=True)

            def _anthropic(self, model: str, reply: str, tokens_in: int, tokens_out: int,
                           stream: bool) -> None:
                message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                           "stop_sequence": None}
                if not stream:
                    self._json(200, {**message, "content": [{"type": "text", "text": reply}],
                                     "stop_reason": "end_turn",
                                     "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}})
                    return
                # Input tokens come with message_start, the output count with message_delta.
                self._sse([(e["type"], e) for e in (
                    {"type": "message_start", "message": {**message, "content": [], "stop_reason": None,
                                                          "usage": {"input_tokens": tokens_in,
                                                                    "output_tokens": 1}}},
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                    {"type": "ping"},
                    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": reply}},
                    {"type": "content_block_stop", "index": 0},
                    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                     "usage": {"output_tokens": tokens_out}},
                    {"type": "message_stop"},
                )])

            def _responses(self, model: str, reply: str, tokens_in: int, tokens_out: int,
                           stream: bool) -> None:
                usage = {"input_tokens": tokens_in, "input_tokens_details": {"cached_tokens": 0},
                         "output_tokens": tokens_out, "output_tokens_details": {"reasoning_tokens": 0},
                         "total_tokens": tokens_in + tokens_out}
                item = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": reply, "annotations": []}]}
                response = {"id": "resp_1", "object": "response", "created_at": 0, "model": model,
                            "status": "completed", "incomplete_details": None, "output": [item],
                            "usage": usage}
                if not stream:
                    self._json(200, response)
                    return
                # Usage arrives only with response.completed.
                self._sse([(e["type"], {**e, "sequence_number": n}) for n, e in enumerate((
                    {"type": "response.created", "response": {**response, "status": "in_progress",
                                                              "output": [], "usage": None}},
                    {"type": "response.output_item.added", "output_index": 0,
                     "item": {**item, "status": "in_progress", "content": []}},
                    {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0,
                     "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
                    {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0,
                     "content_index": 0, "delta": reply},
                    {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0,
                     "content_index": 0, "text": reply},
                    {"type": "response.output_item.done", "output_index": 0, "item": item},
                    {"type": "response.completed", "response": response},
                ))])

            def _google(self, model: str, reply: str, tokens_in: int, tokens_out: int, stream: bool) -> None:
                usage = {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out,
                         "totalTokenCount": tokens_in + tokens_out}
                text = {"content": {"role": "model", "parts": [{"text": reply}]}, "index": 0}
                if not stream:
                    self._json(200, {"candidates": [{**text, "finishReason": "STOP"}],
                                     "usageMetadata": usage, "modelVersion": model})
                    return
                # Every chunk carries usageMetadata so far; the last one the final counts.
                self._sse([(None, chunk) for chunk in (
                    {"candidates": [text], "usageMetadata": {"promptTokenCount": tokens_in},
                     "modelVersion": model},
                    {"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "index": 0,
                                     "finishReason": "STOP"}], "usageMetadata": usage, "modelVersion": model},
                )])

        return Handler


if __name__ == "__main__":
    port_file, log = Path(sys.argv[1]), Path(sys.argv[2])
    with FakeLLM(log=log, port=int(sys.argv[3]) if len(sys.argv) > 3 else 0) as fake:
        port_file.write_text(fake.url)
        while True:
            time.sleep(3600)
