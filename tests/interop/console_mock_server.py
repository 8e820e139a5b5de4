#!/usr/bin/python3
"""A mock of a Strata cluster's console HTTP listeners, for developing the
web console (broker/server/console/) without building the broker.

One process serves N fake nodes, each on its own port, like a real
cluster's per-node HTTP listeners:

    /                   broker/server/console/index.html
    /console.js         broker/server/console/console.js
    /console.css        broker/server/console/console.css
    /api/v1/cluster     brokers, controller, metadata quorum
    /api/v1/topics      topics; size_bytes only for replicas held on this
                        node, high_watermark only where this node leads
                        (as the broker does)
    /api/v1/groups      the groups this node coordinates
    /api/v1/throughput  this node's cumulative per-topic counters

The data moves with wall-clock time (offsets grow, lag oscillates).

    console_mock_server.py --ports 18644,18645,18646            # all up
    console_mock_server.py --ports ... --down 3                 # broker 3 not live
    console_mock_server.py --ports ... --unreachable 3          # its port closed
    console_mock_server.py --ports ... --kill 3                 # both (kill -9 + session expired)
    console_mock_server.py --ports ... --hang 3                 # its port accepts, never answers
    console_mock_server.py --ports ... --fail topics            # /api/v1/topics answers 500

`GET /?hold_load_ms=7000` serves the page with a late image that holds its
load event that long, so `chromium --headless=new --dump-dom` without
--virtual-time-budget dumps after 7 s of real time: needed to see --hang,
since virtual time stops while a fetch is pending and a 2 s timeout then
never fires.

At run time, on any node: GET /_mock/set?kill=3 (or down=, unreachable=,
hang=, fail=, up=3 to undo a node's state, fail= with an empty value to
clear) changes the same state; GET /_mock/state shows it.

Brokers 1..N (one per port) are voters with an HTTP listener; broker N+1 is
an observer without one (its "http" is ""), as a broker may be.
Stdlib only. Stop it with SIGTERM or Ctrl-C.
"""

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CONSOLE_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "broker", "server", "console"))
ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/console.css": ("console.css", "text/css; charset=utf-8"),
}
# The broker's own header on the page's files (console_api.cc).
CSP = ("default-src 'self'; connect-src *; img-src 'self' data:; "
       "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")

# name -> (internal, partition count, replication factor, records/s per partition, avg record bytes)
TOPICS = {
    "orders": (False, 6, 3, 40.0, 310),
    "payments": (False, 3, 3, 12.0, 520),
    "clickstream": (False, 12, 2, 95.0, 180),
    "audit-log": (False, 1, 1, 2.0, 900),   # one replica: offline when its broker is down
    "__consumer_offsets": (True, 10, 3, 3.0, 90),
    "__transaction_state": (True, 4, 3, 0.5, 120),
}

# name -> (coordinator, state, protocol, {topic: consume records/s per partition}, members, lag amplitude)
GROUPS = {
    "order-processor": (1, "Stable", "range", {"orders": 39.0}, 2, 400),
    "payments-ledger": (2, "Stable", "cooperative-sticky", {"payments": 12.0}, 1, 40),
    "clickstream-etl": (3, "Stable", "range", {"clickstream": 90.0}, 3, 2500),
    "analytics": (1, "PreparingRebalance", "range", {"orders": 20.0, "clickstream": 60.0}, 2, 9000),
    # A name that must be escaped by the page.
    "<b>bad</b> & \"quoted\" 'group'": (2, "Empty", "", {"audit-log": 0.0}, 0, 25),
}


class Cluster:
    def __init__(self, host, ports):
        self.lock = threading.Lock()
        self.host = host
        self.ports = ports
        self.http_ids = list(range(1, len(ports) + 1))
        self.observer_id = len(ports) + 1
        self.all_ids = self.http_ids + [self.observer_id]
        self.start = time.time()
        self.down = set()         # session expired: live false
        self.unreachable = set()  # port closed
        self.hang = set()         # port open, never answers
        self.fail = set()         # api names answering 500
        self.counters = {i: {} for i in self.all_ids}  # node -> topic -> [bi, ri, bo, ro]
        self.last_tick = time.time()
        self.term = 3
        self.index_base = 1200

    # -- layout --------------------------------------------------------
    def replicas(self, topic, p):
        _, _, rf, _, _ = TOPICS[topic]
        ids = self.http_ids
        if topic == "audit-log":
            return [ids[-1]]
        first = (p + zlib.crc32(topic.encode())) % len(ids)
        out = [ids[(first + k) % len(ids)] for k in range(min(rf, len(ids)))]
        if topic == "clickstream" and p % 4 == 3:
            out[-1] = self.observer_id  # the observer holds a few replicas
        return out

    def isr(self, topic, p):
        reps = self.replicas(topic, p)
        isr = [r for r in reps if r not in self.down and r not in self.unreachable]
        if topic == "orders" and p == 2 and len(isr) > 1:
            isr = isr[:-1]  # one follower lagging even with every broker up
        return isr

    def leader(self, topic, p):
        isr = self.isr(topic, p)
        return isr[0] if isr else -1

    def coordinator(self, group):
        c = GROUPS[group][0]
        if c in self.down or c not in self.http_ids:
            live = [i for i in self.http_ids if i not in self.down]
            return live[0] if live else -1
        return c

    def elapsed(self):
        return time.time() - self.start

    def hw(self, topic, p):
        rate = TOPICS[topic][3]
        return int(1000 + p * 137 + rate * (1 + 0.1 * p) * (self.elapsed() + 600))

    def tick(self):
        """Integrates each node's counters at the current leadership."""
        now = time.time()
        dt = now - self.last_tick
        self.last_tick = now
        for topic, (_, parts, _, rate, size) in TOPICS.items():
            for p in range(parts):
                lead = self.leader(topic, p)
                if lead < 0:
                    continue
                r_in = rate * (1 + 0.1 * p) * (1 + 0.25 * math.sin(now / 20 + p))
                r_out = r_in * (2.0 if topic in ("orders", "clickstream") else 1.0)
                c = self.counters[lead].setdefault(topic, [0.0, 0.0, 0.0, 0.0])
                c[0] += r_in * size * dt
                c[1] += r_in * dt
                c[2] += r_out * size * dt
                c[3] += r_out * dt

    # -- answers -------------------------------------------------------
    def cluster(self, node):
        brokers = []
        leaders, replicas = {}, {}
        for topic, (_, parts, _, _, _) in TOPICS.items():
            for p in range(parts):
                lead = self.leader(topic, p)
                if lead >= 0:
                    leaders[lead] = leaders.get(lead, 0) + 1
                for r in self.replicas(topic, p):
                    replicas[r] = replicas.get(r, 0) + 1
        for i in self.all_ids:
            http = f"http://{self.host}:{self.ports[i - 1]}" if i in self.http_ids else ""
            brokers.append({"id": i, "host": "localhost", "port": 9091 + i, "http": http, "rack": "",
                            "live": i not in self.down, "fenced": False,
                            "leaders": leaders.get(i, 0), "replicas": replicas.get(i, 0)})
        up = [i for i in self.http_ids if i not in self.down]
        controller = up[0] if up else -1
        commit = self.index_base + int(self.elapsed() * 2)
        quorum = {"leader_id": controller, "term": self.term, "commit_index": commit,
                  "voters": [], "observers": []}
        if node == controller:  # only the quorum leader knows its followers' progress
            for i in self.http_ids:
                if i in self.down or i in self.unreachable:
                    lag, heard = int(self.elapsed() * 2) + 40, int(self.elapsed() * 1000) + 9000
                elif i == node:
                    lag, heard = 0, 0
                else:
                    lag, heard = (i * 3) % 5, 90 + 40 * i
                quorum["voters"].append({"id": i, "match_index": commit - lag, "lag": lag,
                                         "last_heard_ms_ago": heard})
            quorum["observers"].append({"id": self.observer_id, "lag": 1})
        return {"cluster_id": "strata-dev-7f3c9a", "node_id": node, "controller_id": controller,
                "brokers": brokers, "quorum": quorum}

    def topics(self, node):
        out = []
        for topic, (internal, parts, _, rate, size) in TOPICS.items():
            partitions = []
            for p in range(parts):
                reps, isr, lead = self.replicas(topic, p), self.isr(topic, p), self.leader(topic, p)
                part = {"partition": p, "leader": lead, "replicas": reps, "isr": isr,
                        "under_replicated": len(isr) < len(reps), "offline": lead < 0}
                if node in reps:
                    part["size_bytes"] = self.hw(topic, p) * size - (0 if node == lead else 4096)
                    if node == lead:
                        part["high_watermark"] = self.hw(topic, p)
                partitions.append(part)
            out.append({"name": topic, "internal": internal, "partitions": partitions})
        return {"topics": out}

    def groups(self, node):
        now = time.time()
        out = []
        for name, (_, state, protocol, consumes, n_members, amp) in GROUPS.items():
            if self.coordinator(name) != node:
                continue
            offsets, assigned = [], []
            total = 0
            for topic in consumes:
                for p in range(TOPICS[topic][1]):
                    end = self.hw(topic, p)
                    if self.leader(topic, p) < 0:
                        offsets.append({"topic": topic, "partition": p, "committed": end - 7,
                                        "end_offset": None, "lag": None})
                        continue
                    lag = int(amp * (1.1 + math.sin(now / 15 + p + len(name))) / max(1, TOPICS[topic][1]))
                    offsets.append({"topic": topic, "partition": p, "committed": end - lag,
                                    "end_offset": end, "lag": lag})
                    total += lag
                    assigned.append((topic, p))
            members = []
            for m in range(n_members):
                members.append({"member_id": f"consumer-{m + 1}-{zlib.crc32((name + str(m)).encode()):08x}",
                                "client_id": f"{name.split()[0]}-client-{m + 1}",
                                "host": f"/10.0.0.{10 + m}",
                                "assignment": [{"topic": t, "partition": p}
                                               for k, (t, p) in enumerate(assigned) if k % n_members == m]})
            out.append({"group": name, "state": state, "protocol": protocol, "members": members,
                        "offsets": offsets, "total_lag": total})
        return {"node_id": node, "groups": out}

    def throughput(self, node):
        self.tick()
        topics = [{"topic": t, "bytes_in": int(c[0]), "records_in": int(c[1]),
                   "bytes_out": int(c[2]), "records_out": int(c[3])}
                  for t, c in sorted(self.counters[node].items())]
        return {"node_id": node, "time_ms": int(time.time() * 1000), "topics": topics}


def make_handler(cluster, node, servers):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if os.environ.get("MOCK_VERBOSE"):
                sys.stderr.write(f"node {node}: " + (fmt % args) + "\n")

        def send(self, status, ctype, body, extra=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_POST(self):
            self.send(405, "text/plain", "method not allowed\n")

        def do_GET(self):
            url = urlsplit(self.path)
            path = url.path
            with cluster.lock:
                hang = node in cluster.hang
                gone = node in cluster.unreachable
            if gone:  # a kept-alive connection to a node made unreachable at run time
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if hang and not path.startswith("/_mock/"):
                time.sleep(30)  # a stopped (SIGSTOP) or partitioned node
                self.close_connection = True
                return
            if path in ASSETS:
                fname, ctype = ASSETS[path]
                try:
                    with open(os.path.join(CONSOLE_DIR, fname), "rb") as f:
                        body = f.read()
                except OSError as e:
                    return self.send(404, "text/plain", f"{e}\n")
                hold = parse_qs(url.query).get("hold_load_ms")
                if hold and fname == "index.html":
                    # Test aid: an image that arrives late holds the page's load
                    # event, so `chromium --dump-dom` without virtual time (which
                    # stops while a fetch is pending, so a timeout never fires)
                    # dumps after that much real time.
                    tag = f'<img src="/_mock/sleep?ms={int(hold[0])}" alt="" hidden></body>'
                    body = body.replace(b"</body>", tag.encode())
                return self.send(200, ctype, body, [("Content-Security-Policy", CSP)])
            if path.startswith("/api/v1/"):
                name = path[len("/api/v1/"):]
                cors = [("Access-Control-Allow-Origin", "*")]
                fn = getattr(cluster, name, None) if name in ("cluster", "topics", "groups", "throughput") else None
                if fn is None:
                    return self.send(404, "application/json", '{"error":"not found"}', cors)
                with cluster.lock:
                    if name in cluster.fail:
                        return self.send(500, "application/json", '{"error":"injected failure"}', cors)
                    body = fn(node)
                return self.send(200, "application/json", json.dumps(body), cors)
            if path == "/_mock/set":
                q = parse_qs(url.query, keep_blank_values=True)
                apply_state(cluster, servers, q)
                path = "/_mock/state"
            if path == "/_mock/state":
                with cluster.lock:
                    st = {k: sorted(getattr(cluster, k)) for k in ("down", "unreachable", "hang", "fail")}
                return self.send(200, "application/json", json.dumps(st) + "\n")
            if path == "/_mock/sleep":
                time.sleep(min(60, int(parse_qs(url.query).get("ms", ["1000"])[0]) / 1000))
                return self.send(200, "image/gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
            if path == "/metrics":
                return self.send(200, "text/plain", "# mock\n")
            return self.send(404, "text/plain", "not found\n")

    return Handler


def ids(values):
    out = set()
    for v in values or []:
        for part in str(v).split(","):
            if part.strip():
                out.add(int(part))
    return out


def apply_state(cluster, servers, q):
    """q: {"down": [...], "unreachable": [...], "kill": [...], "hang": [...], "up": [...], "fail": [...]}"""
    with cluster.lock:
        cluster.tick()
        for i in ids(q.get("up")):
            cluster.down.discard(i)
            cluster.unreachable.discard(i)
            cluster.hang.discard(i)
        cluster.down |= ids(q.get("down")) | ids(q.get("kill"))
        cluster.unreachable |= ids(q.get("unreachable")) | ids(q.get("kill"))
        cluster.hang |= ids(q.get("hang"))
        if "fail" in q:
            cluster.fail = {f for v in q["fail"] for f in v.split(",") if f}
        if q.get("down") or q.get("kill") or q.get("up"):
            cluster.term += 1
        want_open = [i for i in cluster.http_ids if i not in cluster.unreachable]
    for i in cluster.http_ids:
        if i in want_open and i not in servers:
            start_server(cluster, servers, i)
        elif i not in want_open and i in servers:
            srv = servers.pop(i)
            threading.Thread(target=lambda s=srv: (s.shutdown(), s.server_close()), daemon=True).start()


def start_server(cluster, servers, node):
    srv = ThreadingHTTPServer((cluster.host, cluster.ports[node - 1]), make_handler(cluster, node, servers))
    srv.daemon_threads = True
    servers[node] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ports", default="18644,18645,18646", help="one port per node, node 1 first")
    ap.add_argument("--down", action="append", help="broker ids whose session expired (live: false)")
    ap.add_argument("--unreachable", action="append", help="broker ids whose port is closed")
    ap.add_argument("--kill", action="append", help="both --down and --unreachable")
    ap.add_argument("--hang", action="append", help="broker ids that accept but never answer")
    ap.add_argument("--fail", action="append", help="API names (cluster, topics, groups, throughput) answering 500")
    args = ap.parse_args()

    ports = [int(p) for p in args.ports.split(",") if p.strip()]
    cluster = Cluster(args.host, ports)
    servers = {}
    q = {k: getattr(args, k) for k in ("down", "unreachable", "kill", "hang") if getattr(args, k)}
    if args.fail:
        q["fail"] = args.fail
    for i in cluster.http_ids:
        if i not in ids(args.unreachable) | ids(args.kill):
            start_server(cluster, servers, i)
    apply_state(cluster, servers, q)
    print(f"console mock: {len(ports)} nodes on {args.host} ports {ports}; "
          f"open http://{args.host}:{ports[0]}/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    for srv in list(servers.values()):
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    main()
