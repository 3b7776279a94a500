#!/usr/bin/env python3
"""A completion-callback receiver for the callback tests (issue 7).

Verifies every request with the PyPI `standardwebhooks` library and checks the payload
against the seed's field list and types (CONTRACT.md §7). Answers per request from a plan.

Usage: webhook_receiver.py SECRET PLAN LOG
  PLAN: comma-separated answers, the last one repeated: 200 | 500 | 410 | timeout |
        redirect=<url> | 503retry=<seconds> (503 with Retry-After)
  LOG:  one JSON line per request is appended here.
Prints the port it listens on (127.0.0.1) as its first stdout line.
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

SECRET, PLAN, LOG = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
LOCK = threading.Lock()
COUNT = [0]

CALL_STATUSES = {"COMPLETED", "TIMEOUT", "FAILED", "CANCELLED"}
CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
TOP = ["request_id", "status", "integrator_id", "stats", "request_calls"]
STATS_INT = ["total_calls", "completed_calls", "timeout_calls", "replied_calls",
             "replied_option_one_count", "replied_option_two_count"]
CALL = ["id", "status", "phone_number", "user_tag_identifiers", "call_result_duration",
        "call_result_options_selected", "created_at"]


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def payload_problems(p):
    """The seed's field list and types; returns a list of problems (empty when fine)."""
    bad = []
    if list(p.keys()) != TOP:
        bad.append(f"top-level keys {list(p.keys())}")
    if not isinstance(p.get("request_id"), str) or not isinstance(p.get("integrator_id"), str):
        bad.append("request_id/integrator_id not strings")
    if p.get("status") not in ("COMPLETED", "CANCELLED"):
        bad.append(f"status {p.get('status')!r}")
    s = p.get("stats", {})
    for k in STATS_INT:
        if not is_int(s.get(k)):
            bad.append(f"stats.{k} not an integer")
    for k in ("avg_duration", "success_rate"):
        if not isinstance(s.get(k), float):
            bad.append(f"stats.{k} not a float")
    roc = s.get("response_options_counts")
    if not isinstance(roc, dict) or not all(isinstance(k, str) and is_int(v) for k, v in roc.items()):
        bad.append("stats.response_options_counts")
    calls = p.get("request_calls")
    if not isinstance(calls, list) or not calls:
        bad.append("request_calls empty")
        calls = []
    if is_int(s.get("total_calls")) and s["total_calls"] != len(calls):
        bad.append("total_calls != len(request_calls)")
    for i, c in enumerate(calls):
        if list(c.keys()) != CALL:
            bad.append(f"request_calls[{i}] keys {list(c.keys())}")
        if c.get("status") not in CALL_STATUSES:
            bad.append(f"request_calls[{i}].status {c.get('status')!r}")
        if not isinstance(c.get("id"), str) or not isinstance(c.get("phone_number"), str):
            bad.append(f"request_calls[{i}] id/phone_number")
        if not isinstance(c.get("user_tag_identifiers"), dict):
            bad.append(f"request_calls[{i}].user_tag_identifiers")
        if not is_int(c.get("call_result_duration")):
            bad.append(f"request_calls[{i}].call_result_duration")
        sel = c.get("call_result_options_selected")
        if sel is not None and not isinstance(sel, str):
            bad.append(f"request_calls[{i}].call_result_options_selected")
        if not isinstance(c.get("created_at"), str) or not CREATED_AT.match(c["created_at"]):
            bad.append(f"request_calls[{i}].created_at {c.get('created_at')!r}")
    return bad


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with LOCK:
            n = COUNT[0]
            COUNT[0] += 1
        action = PLAN[min(n, len(PLAN) - 1)]
        entry = {"n": n, "action": action, "path": self.path,
                 "webhook_id": self.headers.get("webhook-id"),
                 "webhook_timestamp": self.headers.get("webhook-timestamp"),
                 "signatures": len((self.headers.get("webhook-signature") or "").split()),
                 "received_at": time.time(), "body": body.decode("utf-8", "replace")}
        try:
            payload = Webhook(SECRET).verify(body, dict(self.headers.items()))
            entry["verified"] = True
            entry["problems"] = payload_problems(payload)
        except Exception as e:  # verification failure is data for the test
            entry["verified"] = False
            entry["problems"] = [f"verify: {e}"]
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if action == "timeout":
            time.sleep(5)
            code, headers = 200, {}
        elif action.startswith("redirect="):
            code, headers = 302, {"Location": action.split("=", 1)[1]}
        elif action.startswith("503retry="):
            code, headers = 503, {"Retry-After": action.split("=", 1)[1]}
        else:
            code, headers = int(action), {}
        try:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender gave up (timeout)


class Server(ThreadingHTTPServer):
    request_queue_size = 512  # the default backlog of 5 drops SYNs from a concurrent sender


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
