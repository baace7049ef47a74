#!/usr/bin/env python3
"""A fake Consul agent for Flare's tests: no Consul server is installable
here, so the Consul registry adapter is tested against this second
implementation of the documented agent HTTP API
(developer.hashicorp.com/consul/api-docs), limited to what the adapter uses:

  PUT /v1/agent/service/register           Name, ID (default Name), Address,
                                           Port, Tags, Meta, Check {HTTP,
                                           Interval, Timeout,
                                           DeregisterCriticalServiceAfter}
  PUT /v1/agent/service/deregister/<id>    404 "Unknown service ID" if unknown
  GET /v1/health/service/<name>[?passing]  [{Node, Service, Checks}]
  GET /v1/agent/checks                     {CheckID: {Status, Interval, ...}}

Like Consul, a service's HTTP check starts critical and the agent calls the
URL every Interval (2xx passing, 429 warning, anything else or no answer
within Timeout critical); `passing` keeps only entries whose every check
passes; a service critical for DeregisterCriticalServiceAfter is removed.
Unlike Consul the reaper runs at every check, not every 30 s, and there is
one node (serfHealth always passing). With --acl-token, a request without
that X-Consul-Token is refused 403 "ACL not found".

Prints "fake-consul-agent listening port=<N>" on stdout once it accepts
connections; runs until SIGTERM/SIGINT.
"""
import argparse
import json
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NODE = {"ID": "fake-node-id", "Node": "fake-node", "Address": "127.0.0.1", "Datacenter": "dc1"}
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text):
    """Seconds in a Go duration string ("10s", "1m30s", "250ms")."""
    if isinstance(text, (int, float)):
        return text / 1e9  # Consul also takes nanoseconds as a number
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("bad duration %r" % text)
    return sum(float(n) * _UNITS[u] for n, u in parts)


class Agent:
    def __init__(self):
        self.lock = threading.Lock()
        self.services = {}  # id -> service dict (Consul's AgentService shape)
        self.checks = {}  # id -> check state
        self.stops = {}  # id -> threading.Event stopping its checker

    def register(self, body):
        name = body.get("Name")
        if not name:
            raise ValueError("Missing service name")
        sid = body.get("ID") or name
        service = {"ID": sid, "Service": name, "Tags": body.get("Tags") or [],
                   "Meta": body.get("Meta") or {}, "Address": body.get("Address", ""),
                   "Port": int(body.get("Port", 0))}
        check = body.get("Check")
        spec = None
        if check:
            if not check.get("HTTP"):
                raise ValueError("only HTTP checks are implemented by this fake")
            spec = {"url": check["HTTP"], "interval": parse_duration(check["Interval"]),
                    "timeout": parse_duration(check.get("Timeout", "10s")),
                    "deregister_after": parse_duration(check["DeregisterCriticalServiceAfter"])
                    if check.get("DeregisterCriticalServiceAfter") else None,
                    "Interval": check["Interval"], "Timeout": check.get("Timeout", "10s")}
        self.deregister(sid)  # a registration replaces the one with its ID
        with self.lock:
            self.services[sid] = service
            if spec:
                self.checks[sid] = {"status": "critical", "since": time.monotonic(),
                                    "output": "not checked yet", **spec}
                stop = threading.Event()
                self.stops[sid] = stop
                threading.Thread(target=self._run_check, args=(sid, stop), daemon=True).start()

    def deregister(self, sid):
        with self.lock:
            stop = self.stops.pop(sid, None)
            if stop:
                stop.set()
            self.checks.pop(sid, None)
            return self.services.pop(sid, None) is not None

    def _probe(self, url, timeout):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                code = answer.status
        except urllib.error.HTTPError as error:
            code = error.code
        except Exception as error:  # refused, timed out, bad URL: critical
            return "critical", "probe failed: %s" % error
        if 200 <= code < 300:
            return "passing", "HTTP GET %s: %d" % (url, code)
        return ("warning" if code == 429 else "critical"), "HTTP GET %s: %d" % (url, code)

    def _run_check(self, sid, stop):
        while not stop.is_set():
            with self.lock:
                check = self.checks.get(sid)
            if check is None:
                return
            status, output = self._probe(check["url"], check["timeout"])
            reap = False
            with self.lock:
                if self.checks.get(sid) is not check:
                    return  # deregistered or replaced meanwhile
                if status != check["status"]:
                    check["since"] = time.monotonic()
                check["status"], check["output"] = status, output
                after = check["deregister_after"]
                reap = (status == "critical" and after is not None and
                        time.monotonic() - check["since"] >= after)
            if reap:
                self.deregister(sid)
                return
            stop.wait(check["interval"])

    def _check_json(self, sid):
        service, check = self.services[sid], self.checks[sid]
        return {"Node": NODE["Node"], "CheckID": "service:" + sid,
                "Name": "Service '%s' check" % service["Service"], "Status": check["status"],
                "Output": check["output"], "ServiceID": sid, "ServiceName": service["Service"],
                "ServiceTags": service["Tags"], "Type": "http", "Interval": check["Interval"],
                "Timeout": check["Timeout"]}

    def health(self, name, passing_only):
        entries = []
        with self.lock:
            for sid, service in self.services.items():
                if service["Service"] != name:
                    continue
                checks = [{"Node": NODE["Node"], "CheckID": "serfHealth",
                           "Name": "Serf Health Status", "Status": "passing", "ServiceID": "",
                           "ServiceName": "", "Type": ""}]
                if sid in self.checks:
                    checks.append(self._check_json(sid))
                if passing_only and any(c["Status"] != "passing" for c in checks):
                    continue
                entries.append({"Node": NODE, "Service": dict(service), "Checks": checks})
        return entries

    def agent_checks(self):
        with self.lock:
            return {"service:" + sid: self._check_json(sid) for sid in self.checks}


def make_handler(agent, token):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: tests read stdout
            pass

        def _send(self, code, payload, content_type="application/json"):
            data = payload if isinstance(payload, bytes) else payload.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _text(self, code, text):
            self._send(code, text, "text/plain; charset=utf-8")

        def _authorised(self):
            if token is None or self.headers.get("X-Consul-Token") == token:
                return True
            self._text(403, "ACL not found")
            return False

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_PUT(self):
            body = self._body()
            if not self._authorised():
                return
            path = urllib.parse.urlsplit(self.path).path
            if path == "/v1/agent/service/register":
                try:
                    agent.register(json.loads(body or b"{}"))
                except (ValueError, KeyError, TypeError) as error:
                    return self._text(400, "Invalid service: %s" % error)
                return self._text(200, "")
            if path.startswith("/v1/agent/service/deregister/"):
                sid = urllib.parse.unquote(path[len("/v1/agent/service/deregister/"):])
                if agent.deregister(sid):
                    return self._text(200, "")
                return self._text(404, 'Unknown service ID "%s"' % sid)
            self._text(404, "")

        def do_GET(self):
            if not self._authorised():
                return
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            if url.path.startswith("/v1/health/service/"):
                name = urllib.parse.unquote(url.path[len("/v1/health/service/"):])
                passing = "passing" in query and query["passing"][0] in ("", "true", "1")
                return self._send(200, json.dumps(agent.health(name, passing)))
            if url.path == "/v1/agent/checks":
                return self._send(200, json.dumps(agent.agent_checks()))
            self._text(404, "")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--acl-token", default=None, help="require this X-Consul-Token")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Agent(), args.acl_token))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("fake-consul-agent listening port=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
