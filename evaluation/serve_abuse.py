#!/usr/bin/python3
"""Abuse test of `bcsft serve --scripted`: good chat requests from several clients while others
send what no well-behaved client sends, and what it costs the server.

Starts `bcsft serve --scripted --port 0` (the binary at .build/debug/bcsft, or --bcsft PATH), runs
--good-clients threads sending good chat requests on keep-alive connections and --bad-clients
threads cycling through bad requests (negative, huge and overflowing Content-Length, a client
that keeps sending a body, oversized head and body, garbage bytes, chunked and ambiguous framing,
n = 10^7, max_tokens = 10^12, deeply nested JSON, early disconnects), plus --slow-clients threads
that hold connections open (slowloris: one byte a second; idle: nothing) for --duration seconds.
It samples the server's VmRSS and VmHWM from /proc/PID/status every 50 ms and reports: good
requests sent and answered, their p50/p99/max latency, what each bad kind got, and the server's
memory before, during and after the load. Python 3 standard library only.

Usage: evaluation/serve_abuse.py [--bcsft PATH] [--duration 20] [--good-clients 4] [--bad-clients 4]
       [--slow-clients 2] [--kinds a,b,...] [--serve-args "--idle-timeout 5"] [--json OUT]
Exit status 0 when every good request was answered 200 and the server is alive at the end.
"""
import argparse
import http.client
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CHAT = "/v1/chat/completions"


def chat_body(prompt, **extra):
    return json.dumps({"model": "scripted-teacher", "messages": [{"role": "user", "content": prompt}], **extra}).encode()


def head(content_length=None, extra=""):
    h = f"POST {CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if content_length is not None:
        h += f"Content-Length: {content_length}\r\n"
    return (h + extra + "\r\n").encode()


def request(body):
    return head(len(body), "Content-Type: application/json\r\n") + body


def read_status(sock, timeout):
    """The status code of the first response on sock, 'closed' (end of stream or reset without
    one), or 'timeout'."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return "closed"
            data += chunk
    except socket.timeout:
        return "timeout"
    except OSError:
        return "closed" if not data else data.split(b" ")[1].decode(errors="replace")
    parts = data.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "garbled"


def send_all(sock, data):
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


# Each bad kind: a function (port, stop) -> outcome (a status code, 'closed' or 'timeout').
def bad_simple(payload):
    def run(port, stop):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            send_all(s, payload() if callable(payload) else payload)
            return read_status(s, 10)
    return run


def keeps_sending(port, stop):
    """Declares a 1 TiB body and keeps sending it (up to 64 MiB) until the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        send_all(s, head(1 << 40))
        chunk = b" " * (1 << 20)
        for _ in range(64):
            s.settimeout(0)
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break
            except (BlockingIOError, socket.timeout):
                pass
            except OSError:
                break
            s.settimeout(10)
            if not send_all(s, chunk):
                break
        return read_status(s, 10)


def early_disconnect_half(port, stop):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        send_all(s, request(chat_body("Problem: What is 2 + 3?"))[:50])
    return "gone"


def early_disconnect_whole(port, stop):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        send_all(s, request(chat_body("Problem: What is 2 + 3?")))
    return "gone"


BAD = {
    "negative_content_length": bad_simple(head(-5) + b"{}"),
    "content_length_int_max": bad_simple(head(9223372036854775807)),
    "content_length_overflow": bad_simple(head("9" * 40)),
    "keeps_sending": keeps_sending,
    "oversized_head": bad_simple(head(2, "X-Big: " + "a" * (100 << 10) + "\r\n") + b"{}"),
    "oversized_body": bad_simple(request(b"[" + b"0," * (8 << 20) + b"0]")),
    "garbage_bytes": bad_simple(lambda: bytes(random.getrandbits(8) for _ in range(4096))),
    "chunked": bad_simple(head(None, "Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n"),
    "content_length_and_chunked": bad_simple(head(5, "Transfer-Encoding: chunked\r\n") + b"hello"),
    "n_10e7": bad_simple(request(chat_body("Problem: What is 2 + 3?", n=10_000_000))),
    "max_tokens_10e12": bad_simple(request(chat_body("Problem: What is 2 + 3?", max_tokens=10**12))),
    "nested_json": bad_simple(request(b"[" * 1_000_000)),
    "early_disconnect_half": early_disconnect_half,
    "early_disconnect_whole": early_disconnect_whole,
}


def slowloris(port, stop):
    """One byte a second of a valid request, until the server answers or closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        data = request(chat_body("Problem: What is 2 + 3?"))
        for i in range(len(data)):
            if stop.is_set() or not send_all(s, data[i:i + 1]):
                break
            s.settimeout(1)
            try:
                got = s.recv(65536)
                return read_status_from(got) if got else "closed"
            except socket.timeout:
                pass
            except OSError:
                return "closed"
        return "stopped"


def read_status_from(data):
    parts = data.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else "garbled"


def idle(port, stop):
    """Connects and sends nothing, until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        while not stop.is_set():
            s.settimeout(0.5)
            try:
                got = s.recv(65536)
                return read_status_from(got) if got else "closed"
            except socket.timeout:
                continue
            except OSError:
                return "closed"
        return "stopped"


SLOW = {"slowloris": slowloris, "idle": idle}


def memory(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bcsft", default=os.path.join(ROOT, ".build", "debug", "bcsft"))
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--good-clients", type=int, default=4)
    ap.add_argument("--bad-clients", type=int, default=4)
    ap.add_argument("--slow-clients", type=int, default=2, help="threads each of slowloris and idle connections")
    ap.add_argument("--kinds", default=",".join(BAD), help="bad kinds to send, comma-separated: " + ", ".join(BAD))
    ap.add_argument("--serve-args", default="--idle-timeout 5", help="extra arguments for bcsft serve")
    ap.add_argument("--max-rss-mib", type=float, default=4096, help="kill the server past this RSS (a safety net on shared machines)")
    ap.add_argument("--json", help="also write the figures here as JSON")
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in BAD]
    if unknown:
        sys.exit(f"unknown kinds: {', '.join(unknown)}")

    stderr = tempfile.TemporaryFile()
    server = subprocess.Popen([a.bcsft, "serve", "--scripted", "--port", "0", *shlex.split(a.serve_args)],
                              stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = server.stdout.readline().strip()
    if not line.startswith("listening on "):
        server.wait()
        stderr.seek(0)
        sys.exit(f"bcsft serve did not start: {line!r}\n{stderr.read()[-2000:].decode(errors='replace')}")
    port = int(line.rsplit(":", 1)[1].split("/")[0])
    pid = server.pid

    # Warm up, then the baseline.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(5):
        c.request("POST", CHAT, chat_body("Problem: What is 2 + 3?", max_tokens=50), {"Content-Type": "application/json"})
        c.getresponse().read()
    c.close()
    time.sleep(0.5)
    before = memory(pid)

    stop = threading.Event()
    lock = threading.Lock()
    latencies, good_failures, bad_outcomes, samples = [], [], {}, []
    counts = {"good_sent": 0, "good_ok": 0}
    killed_for_memory = []

    def sampler():
        while not stop.is_set():
            m = memory(pid)
            if m is None:
                return
            samples.append(m)
            if m[0] > a.max_rss_mib * 1024 and not killed_for_memory:
                killed_for_memory.append(m[0])
                server.kill()
            time.sleep(0.05)

    def good_client(k):
        conn = None
        i = 0
        while not stop.is_set():
            i += 1
            body = chat_body(f"Problem: What is {k} + {i}?", max_tokens=200, temperature=0)
            with lock:
                counts["good_sent"] += 1
            t = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", CHAT, body, {"Content-Type": "application/json"})
                r = conn.getresponse()
                payload = r.read()
                dt = time.monotonic() - t
                if r.status == 200 and json.loads(payload)["choices"]:
                    with lock:
                        counts["good_ok"] += 1
                        latencies.append(dt)
                else:
                    with lock:
                        good_failures.append(f"HTTP {r.status}: {payload[:200]!r}")
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError) as e:
                with lock:
                    good_failures.append(f"{type(e).__name__}: {e}")
                if conn is not None:
                    conn.close()
                conn = None

    def bad_client(k):
        i = k
        while not stop.is_set():
            kind = kinds[i % len(kinds)]
            i += 1
            try:
                outcome = BAD[kind](port, stop)
            except OSError as e:
                outcome = f"error: {type(e).__name__}"
            with lock:
                bad_outcomes.setdefault(kind, {}).setdefault(str(outcome), 0)
                bad_outcomes[kind][str(outcome)] += 1

    def slow_client(kind):
        while not stop.is_set():
            try:
                outcome = SLOW[kind](port, stop)
            except OSError as e:
                outcome = f"error: {type(e).__name__}"
            if outcome == "stopped":
                return
            with lock:
                bad_outcomes.setdefault(kind, {}).setdefault(str(outcome), 0)
                bad_outcomes[kind][str(outcome)] += 1

    threads = [threading.Thread(target=sampler)]
    threads += [threading.Thread(target=good_client, args=(k,)) for k in range(a.good_clients)]
    threads += [threading.Thread(target=bad_client, args=(k,)) for k in range(a.bad_clients)]
    threads += [threading.Thread(target=slow_client, args=(kind,)) for kind in SLOW for _ in range(a.slow_clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(a.duration)
    during = max(samples, key=lambda m: m[0]) if samples else None
    hwm_during = samples[-1][1] if samples else None
    stop.set()
    for t in threads:
        t.join(timeout=40)
    elapsed = time.monotonic() - start
    time.sleep(2)
    after = memory(pid)
    alive = server.poll() is None
    exit_status = server.returncode
    stderr.seek(0)
    died_with = None if alive else stderr.read().decode(errors="replace").strip().splitlines()[:1]
    health = None
    if alive:
        try:
            h = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            h.request("GET", "/health")
            health = h.getresponse().status
        except (OSError, http.client.HTTPException):
            pass
    server.terminate()
    server.wait()

    report = {
        "binary": a.bcsft, "serve_args": a.serve_args, "duration_s": round(elapsed, 1),
        "clients": {"good": a.good_clients, "bad": a.bad_clients, "slowloris": a.slow_clients, "idle": a.slow_clients},
        "good": {"sent": counts["good_sent"], "answered_200": counts["good_ok"], "failed": len(good_failures),
                 "failures": good_failures[:10],
                 "latency_ms": {"p50": round(1000 * statistics.median(latencies), 1) if latencies else None,
                                "p99": round(1000 * percentile(latencies, 99), 1) if latencies else None,
                                "max": round(1000 * max(latencies), 1) if latencies else None}},
        "bad": bad_outcomes,
        "memory_kib": {"before": {"VmRSS": before and before[0], "VmHWM": before and before[1]},
                       "during": {"VmRSS_max_sampled": during and during[0], "VmHWM": hwm_during},
                       "after": {"VmRSS": after and after[0], "VmHWM": after and after[1]}},
        "server_alive_at_end": alive, "health_at_end": health, "server_exit_status": exit_status, "server_died_with": died_with,
        "killed_for_memory_at_kib": killed_for_memory[0] if killed_for_memory else None,
    }
    print(f"server: {a.bcsft} serve --scripted {a.serve_args}  ({elapsed:.1f} s of load)")
    g = report["good"]
    print(f"good requests: {g['answered_200']} answered 200 of {g['sent']} sent ({g['failed']} failed); "
          f"latency p50 {g['latency_ms']['p50']} ms, p99 {g['latency_ms']['p99']} ms, max {g['latency_ms']['max']} ms")
    for f in g["failures"]:
        print(f"  failure: {f}")
    print("bad requests (outcome: count):")
    for kind, outcomes in sorted(bad_outcomes.items()):
        print(f"  {kind:28} " + ", ".join(f"{o}: {n}" for o, n in sorted(outcomes.items())))
    m = report["memory_kib"]
    print(f"memory (MiB): before RSS {mib(m['before']['VmRSS'])} (peak {mib(m['before']['VmHWM'])}); "
          f"during max RSS {mib(m['during']['VmRSS_max_sampled'])} (peak {mib(m['during']['VmHWM'])}); "
          f"after RSS {mib(m['after']['VmRSS'])} (peak {mib(m['after']['VmHWM'])})")
    print(f"server alive at the end: {alive}, /health: {health}"
          + ("" if alive else f"; it exited with status {exit_status}: {died_with[0] if died_with else '(nothing on stderr)'}"))
    if killed_for_memory:
        print(f"the server was killed at {mib(killed_for_memory[0])} MiB RSS (--max-rss-mib)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
    sys.exit(0 if alive and health == 200 and not good_failures else 1)


def mib(kib):
    return None if kib is None else round(kib / 1024, 1)


if __name__ == "__main__":
    main()
