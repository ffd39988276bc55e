#!/usr/bin/env python3
"""A scripted model behind the Anthropic Messages API, for driving a real
agent in tests.

    fake_anthropic.py SCRIPT.json REQUEST_LOG PORT_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening).
Every request is appended to REQUEST_LOG as one JSON line (method, path,
body), so a test can look for what must never reach a model.

POST /v1/messages is answered in the streaming format (server-sent events:
message_start, content_block_start/delta/stop, message_delta,
message_stop), or as one JSON message when the request did not ask for a
stream. A request that offers the agent's tools (one named "Bash") is the
main conversation: its answer is the script's turn number N, where N is the
number of assistant messages already in the conversation, so a retried
request gets the same turn. A turn is {"tool": NAME, "input": {...}} or
{"text": "..."}; past the end of the script the model says it is done.
Every other request (titles, summaries, command checks) gets a short text.
POST /v1/messages/count_tokens gets a count; anything else an empty object.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCRIPT = []
LOG_PATH = ""
LOG_LOCK = threading.Lock()
USAGE = {"input_tokens": 12, "output_tokens": 1,
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def log_request(method, path, body):
    line = json.dumps({"method": method, "path": path, "body": body})
    with LOG_LOCK, open(LOG_PATH, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def is_main(req):
    return any(t.get("name") == "Bash" for t in req.get("tools") or [])


def choose(req):
    """The content blocks and stop reason of the answer."""
    if not is_main(req):
        return [{"type": "text", "text": "Scripted session"}], "end_turn"
    turn = sum(1 for m in req.get("messages", []) if m.get("role") == "assistant")
    if turn >= len(SCRIPT):
        return [{"type": "text", "text": "All scripted steps are done."}], "end_turn"
    step = SCRIPT[turn]
    if "tool" in step:
        block = {"type": "tool_use", "id": "toolu_fake%03d" % turn,
                 "name": step["tool"], "input": step["input"]}
        return [block], "tool_use"
    return [{"type": "text", "text": step["text"]}], "end_turn"


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode()


def stream(blocks, stop, model, msg_id):
    out = [sse("message_start", {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "content": [],
        "model": model, "stop_reason": None, "stop_sequence": None,
        "usage": USAGE}})]
    for i, b in enumerate(blocks):
        if b["type"] == "tool_use":
            start = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
            text = json.dumps(b["input"])
            # the input arrives in pieces, as a real model sends it
            deltas = [{"type": "input_json_delta", "partial_json": text[j:j + 40]}
                      for j in range(0, len(text), 40)]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": b["text"]}]
        out.append(sse("content_block_start",
                       {"type": "content_block_start", "index": i, "content_block": start}))
        for d in deltas:
            out.append(sse("content_block_delta",
                           {"type": "content_block_delta", "index": i, "delta": d}))
        out.append(sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(sse("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 20}}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = 0

    def log_message(self, fmt, *args):
        pass

    def reply(self, body, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", "req_fake")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        log_request("GET", self.path, None)
        self.reply(b"{}", "application/json")

    def do_HEAD(self):
        log_request("HEAD", self.path, None)
        self.reply(b"", "application/json")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            req = {"unparsed": raw}
        log_request("POST", self.path, req)
        path = self.path.split("?")[0]
        if path.endswith("/count_tokens"):
            self.reply(json.dumps({"input_tokens": 100}).encode(), "application/json")
            return
        if not path.endswith("/v1/messages"):
            self.reply(b"{}", "application/json")
            return
        Handler.counter += 1
        msg_id = "msg_fake%04d" % Handler.counter
        model = req.get("model", "claude-fake")
        blocks, stop = choose(req)
        if req.get("stream"):
            self.reply(stream(blocks, stop, model, msg_id), "text/event-stream")
        else:
            body = {"id": msg_id, "type": "message", "role": "assistant", "content": blocks,
                    "model": model, "stop_reason": stop, "stop_sequence": None,
                    "usage": USAGE}
            self.reply(json.dumps(body).encode(), "application/json")


def main():
    global SCRIPT, LOG_PATH
    if len(sys.argv) != 4:
        sys.exit("usage: fake_anthropic.py SCRIPT.json REQUEST_LOG PORT_FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        SCRIPT = json.load(f)
    LOG_PATH = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = sys.argv[3] + ".new"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, sys.argv[3])
    server.serve_forever()


if __name__ == "__main__":
    main()
