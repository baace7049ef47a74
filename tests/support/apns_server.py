#!/usr/bin/python3
"""A stand-in for Apple's push service for Flare's tests, on real HTTP/2
(Debian's python3-h2): over TLS when given --cert/--key (ALPN "h2"), else
h2c with prior knowledge. It answers POST /3/device/<token> as APNs does
(status, JSON {"reason": ...}, an apns-id header) and records every
request.

Per token, --script gives the answers in order, as JSON:
  {"tok-gone": [[410, "Unregistered"]],
   "tok-busy": [[429, "TooManyRequests", 3], [500, "InternalServerError"], [200]]}
An entry is [status, reason?, retry_after_seconds?]; once a list is down
to its last entry that entry answers every later request. Tokens not in
the script get 200.

stdout: "apns-test-server listening port=<N>" once it accepts connections,
then one JSON line per request: {"method", "path", "headers", "body"}
(header names in lower case). Runs until SIGTERM/SIGINT.
"""
import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import uuid

import h2.config
import h2.connection
import h2.events

_print_lock = threading.Lock()
_script_lock = threading.Lock()


def emit(obj):
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def answer_for(script, path):
    token = path.rsplit("/", 1)[-1] if path.startswith("/3/device/") else None
    with _script_lock:
        answers = script.get(token)
        if not answers:
            return [200]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def respond(conn, stream_id, request, script):
    headers = request["headers"]
    emit({"method": headers.get(":method"), "path": headers.get(":path"),
          "headers": headers, "body": request["body"].decode("utf-8", "replace")})
    entry = answer_for(script, headers.get(":path", ""))
    status = entry[0]
    out = [(":status", str(status)), ("apns-id", str(uuid.uuid4()))]
    if len(entry) > 2:
        out.append(("retry-after", str(entry[2])))
    if status == 200:
        conn.send_headers(stream_id, out, end_stream=True)
        return
    body = json.dumps({"reason": entry[1] if len(entry) > 1 else ""}).encode()
    out += [("content-type", "application/json"), ("content-length", str(len(body)))]
    conn.send_headers(stream_id, out)
    conn.send_data(stream_id, body, end_stream=True)


def serve(sock, script):
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    requests = {}
    while True:
        try:
            data = sock.recv(65535)
        except (OSError, ssl.SSLError):
            break
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                requests[event.stream_id] = {"headers": dict(event.headers), "body": b""}
            elif isinstance(event, h2.events.DataReceived):
                requests[event.stream_id]["body"] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                respond(conn, event.stream_id, requests.pop(event.stream_id), script)
            elif isinstance(event, h2.events.ConnectionTerminated):
                break
        try:
            sock.sendall(conn.data_to_send())
        except OSError:
            break
    sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--script", default="{}")
    args = parser.parse_args()
    script = json.loads(args.script)
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        context.set_alpn_protocols(["h2"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    emit_line = "apns-test-server listening port=%d" % listener.getsockname()[1]
    with _print_lock:
        print(emit_line, flush=True)
    while True:
        client, _ = listener.accept()
        if context is not None:
            try:
                client = context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                client.close()
                continue
        threading.Thread(target=serve, args=(client, script), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
