#!/usr/bin/env python3
"""A SCRIPTED reasoning teacher behind an OpenAI-compatible /v1/chat/completions (stdlib only,
loopback only), for the tests of the paper's protocol. It is not a model: it answers the
shipped prompts (data/prompts) by their wording, the way a reasoning model behind vLLM would
be seen by the client. Prints its port on the first line of stdout.

  solution prompt   a trace that names the problem (TRACE-<8 hex of the problem text>) in
                    `reasoning_content` (default) or inside <think>...</think> (--think), then
                    "The answer is \\boxed{42}."; a problem containing CUTOFF ends while still
                    thinking: finish_reason "length" and no answer
  reflection        "Reflection on ...": echoes the first TRACE- marker of the solution it got
  behaviors         one JSON behavior named after the problem's marker
GET /debug/requests returns every chat request's last user message, in arrival order.
"""
import hashlib
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

THINK = "--think" in sys.argv
lock = threading.Lock()
requests = []


def marker(problem):
    return "TRACE-" + hashlib.sha256(problem.encode()).hexdigest()[:8]


def section(label, text):
    """The text after the last 'Label:' up to the next blank-line section or the end."""
    i = text.rfind(label + ":")
    if i < 0:
        return ""
    rest = text[i + len(label) + 1:]
    for nxt in ("\n\nProblem:", "\n\nSolution:", "\n\nReflection:", "\n\nAttempt:", "\n\nCritique:"):
        j = rest.find(nxt)
        if j >= 0:
            rest = rest[:j]
    return rest.strip()


def reply(prompt):
    """(content, reasoning or None, finish_reason, completion tokens)."""
    if "behaviors worth keeping" in prompt:
        found = re.search(r"TRACE-[0-9a-f]{8}", section("Solution", prompt))
        name = "behavior_" + (found.group(0).lower().replace("-", "_") if found else "none")
        return json.dumps({name: "Reuse the step named " + (found.group(0) if found else "nothing") + "."}), None, "stop", 12
    if "Reflect on the solution" in prompt:
        found = re.search(r"TRACE-[0-9a-f]{8}", section("Solution", prompt))
        return "Reflection on " + (found.group(0) if found else "no trace"), None, "stop", 4
    problem = section("Problem", prompt)
    trace = marker(problem) + ": first I restate the problem, then I work it out step by step."
    if "CUTOFF" in problem:
        return "", trace, "length", 64
    return "The answer is \\boxed{42}.", trace, "stop", 30


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/debug/requests":
            with lock:
                self.send(200, list(requests))
        else:
            self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if not self.path.endswith("/chat/completions") or body.get("stream"):
            self.send(400, {"error": {"message": "this fixture answers non-streamed chat completions only"}})
            return
        prompt = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        with lock:
            requests.append(prompt)
        content, reasoning, finish, tokens = reply(prompt)
        message = {"role": "assistant", "content": content}
        if reasoning is not None:
            if THINK:
                message["content"] = "<think>" + reasoning + ("" if finish == "length" else "</think>" + content)
            else:
                message["reasoning_content"] = reasoning
        self.send(200, {"id": "x", "object": "chat.completion", "model": body.get("model", "teacher"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": tokens, "total_tokens": tokens}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()  # exit when the test closes stdin
