#!/usr/bin/env python3
"""A SCRIPTED OpenAI-compatible server for the HTTP client's tests (stdlib only, loopback only).

It is not a model: replies are scripted by keywords in the last user message, so the tests can
drive every path of a real HTTP exchange. Prints its port on the first line of stdout.
  FAIL429   first request with this text gets 429 + Retry-After: 0.2, the next succeeds
  FAIL500   first request gets 500, the next succeeds
  BAD400    always 400
  THINK     content "<think>...</think>answer"
  REASONING reasoning in a separate reasoning_content field
  SLOW      answers after 0.3 s (for the in-flight limit)
  TIMEOUT   first request with this text answers after 3 s (past the tests' client timeout)
  DROP      first request: the connection is closed with no response
  TRUNC     first request: a 200 whose JSON body (streamed: event stream) is cut in half
  ECHOKEY   a careless server: 400 whose error message repeats the Authorization header
  ECHOKEY200  a 200 whose content repeats the Authorization header
  CUTSTREAM first streamed request: the event stream stops (connection closed) before
            data: [DONE] and before any finish_reason
  NOSTREAM  a server that ignores "stream": the whole JSON reply even when a stream was asked for
  STREAMERROR  streamed: a content delta, then an error event with code 400
  otherwise "echo: <text>"
A request with "stream": true gets the same answer as server-sent events (chunked transfer
encoding; CUTSTREAM's with Connection: close): a comment line, a role delta per choice, then the
reasoning and the content in 4-character deltas, each event written in two pieces, a finish
chunk per choice, the usage in a last chunk only when stream_options.include_usage, and
data: [DONE].
GET /debug/stats returns {"requests", "streamed" (requests that asked to stream), "max_concurrent",
"auth", "texts": {last user text: count}, "paths": {request path: count}, "models": {model asked for: count},
"bodies": [each chat request's JSON body but its messages, in arrival order]}.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {"requests": 0, "streamed": 0, "concurrent": 0, "max_concurrent": 0, "auth": [], "seen": set(), "texts": {}, "paths": {}, "models": {}, "bodies": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            stats = {k: state[k] for k in ("requests", "streamed", "max_concurrent", "auth", "texts", "paths", "models", "bodies")}
        self.reply(200, stats)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            state["requests"] += 1
            state["streamed"] += 1 if req.get("stream") else 0
            state["concurrent"] += 1
            state["max_concurrent"] = max(state["max_concurrent"], state["concurrent"])
            state["auth"].append(self.headers.get("Authorization"))
            state["paths"][self.path] = state["paths"].get(self.path, 0) + 1
            model = str(req.get("model"))
            state["models"][model] = state["models"].get(model, 0) + 1
        try:
            self.handle_post(req)
        finally:
            with lock:
                state["concurrent"] -= 1

    def handle_post(self, req):
        if self.path.endswith("/embeddings"):
            data = [{"index": i, "embedding": [float(len(t)), float(i)]} for i, t in enumerate(req["input"])]
            return self.reply(200, {"data": list(reversed(data)), "model": req.get("model")})
        text = [m["content"] for m in req["messages"] if m["role"] == "user"][-1]
        with lock:
            state["texts"][text] = state["texts"].get(text, 0) + 1
            state["bodies"].append({k: v for k, v in req.items() if k != "messages"})
        for key in ("TIMEOUT", "DROP", "TRUNC", "CUTSTREAM"):
            if key in text:
                with lock:
                    first = (key, text) not in state["seen"]
                    state["seen"].add((key, text))
                if first and key == "TIMEOUT":
                    time.sleep(3)
                elif first and key == "DROP":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                elif first and key == "TRUNC":
                    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": "cut"}}]}).encode()
                    if req.get("stream"):
                        chunk = {"choices": [{"index": 0, "delta": {"content": "cut"}, "finish_reason": "stop"}]}
                        body = b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n"
                    body = body[: len(body) // 2]
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream" if req.get("stream") else "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                elif first and key == "CUTSTREAM" and req.get("stream"):
                    message = {"role": "assistant", "content": f"echo: {text}"}
                    return self.stream(req, [{"index": 0, "message": message, "finish_reason": "stop"}], None, cut=True)
        for key, status, headers in (("FAIL429", 429, {"Retry-After": "0.2"}), ("FAIL500", 500, {})):
            if key in text:
                with lock:
                    first = (key, text) not in state["seen"]
                    state["seen"].add((key, text))
                if first:
                    return self.reply(status, {"error": {"message": "scripted failure"}}, headers)
        if "ECHOKEY200" in text:
            message = {"role": "assistant", "content": f"you sent {self.headers.get('Authorization')}"}
            choices = [{"index": 0, "message": message, "finish_reason": "stop"}]
            if req.get("stream"):
                return self.stream(req, choices, None)
            return self.reply(200, {"id": "x", "object": "chat.completion", "model": req.get("model"), "choices": choices})
        if "ECHOKEY" in text:
            return self.reply(400, {"error": {"message": f"invalid header Authorization: {self.headers.get('Authorization')}"}})
        if "BAD400" in text:
            return self.reply(400, {"error": {"message": "scripted bad request"}})
        if "SLOW" in text:
            time.sleep(0.3)
        message = {"role": "assistant", "content": f"echo: {text}"}
        if "THINK" in text:
            message["content"] = "<think>2 + 2 is 4.</think>The answer is 4."
        if "REASONING" in text:
            message = {"role": "assistant", "content": "The answer is 4.", "reasoning_content": "2 + 2 is 4."}
        choices = [{"index": i, "message": message, "finish_reason": "stop"} for i in range(req.get("n", 1))]
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": 5, "total_tokens": len(text.split()) + 5,
                 "completion_tokens_details": {"reasoning_tokens": 2}}
        if "STREAMERROR" in text and req.get("stream"):
            return self.stream(req, choices, usage, error={"message": "scripted stream failure", "code": 400})
        if req.get("stream") and "NOSTREAM" not in text:
            return self.stream(req, choices, usage)
        self.reply(200, {"id": "x", "object": "chat.completion", "model": req.get("model"), "choices": choices, "usage": usage})

    def stream(self, req, choices, usage, cut=False, error=None):
        """The reply `choices` and `usage` as server-sent events (see the header)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection" if cut else "Transfer-Encoding", "close" if cut else "chunked")
        self.end_headers()

        def send(raw):
            self.wfile.write(raw if cut else b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()

        def event(choice_list, **extra):
            obj = {"id": "x", "object": "chat.completion.chunk", "model": req.get("model"), "choices": choice_list, **extra}
            data = ("data: " + json.dumps(obj, ensure_ascii=False) + "\n\n").encode()
            # Two pieces, so a line (or a character's bytes) spans writes.
            send(data[: len(data) // 2])
            send(data[len(data) // 2:])

        send(b": scripted stream\n\n")
        for i in range(len(choices)):
            event([{"index": i, "delta": {"role": "assistant"}, "finish_reason": None}], usage=None)
        for field in ("reasoning_content", "content"):
            for i, c in enumerate(choices):
                value = c["message"].get(field) or ""
                for j in range(0, len(value), 4):
                    event([{"index": i, "delta": {field: value[j:j + 4]}, "finish_reason": None}], usage=None)
                if cut and field == "content":
                    return  # Connection: close ends the body here, with no [DONE]
                if error and field == "content":
                    event([], error=error)
        for i, c in enumerate(choices):
            event([{"index": i, "delta": {}, "finish_reason": c["finish_reason"]}], usage=None)
        if (req.get("stream_options") or {}).get("include_usage") and usage is not None:
            event([], usage=usage)
        send(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # run until the test closes our stdin
