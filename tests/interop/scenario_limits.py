#!/usr/bin/python3
"""Request and connection limits on real processes (issue 16, acceptance
5): a three-node cluster with max.connections=1000.

  tests/interop/scenario_limits.py [BUILD_DIR] [--connections N]

  - a Kafka frame declaring 2 GiB (and one declaring more than
    socket.request.max.bytes, 100 MiB by default) is refused: the
    connection is closed, and the node's RSS does not grow by the
    declared size;
  - a gRPC call whose message declares 2 GiB, sent over raw HTTP/2 as
    fast as the server's flow control lets it, is refused (the stream is
    reset or answered with an error) long before 2 GiB arrive, and the
    node's RSS grows by far less than the declared size (gRPC 1.51 checks
    a message's size only once all of it has arrived; the listener's
    memory quota is what stops it);
  - N (10,000) connection attempts at once to one node's KAFKA listener,
    then to its gRPC client listener (max.connections counts both
    together, as Kafka's counts every client listener): at most
    max.connections stay open, the rest are closed at accept; the node's
    RSS, sampled every 20 ms throughout, grows by less than 100 MB; while
    the 1000 are held the cluster serves (`strata topics --list` through
    another node; the CONTROLLER listener is not limited); once they are
    closed, a Kafka client produces to and consumes from the node, and its
    gRPC listener answers again.
"""
import argparse
import errno
import os
import resource
import select
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402

MAX_CONNECTIONS = 1000
MB = 1000 * 1000


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    """The node's RSS every 20 ms, from before to after a step."""

    def __init__(self, pid):
        self.pid = pid
        self.base = rss_bytes(pid)
        self.peak = self.base
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.peak = max(self.peak, rss_bytes(self.pid))
        return False

    @property
    def growth(self):
        return self.peak - self.base


def closed_by_peer(s, timeout_s):
    """Whether the server closes the connection within timeout_s."""
    s.settimeout(timeout_s)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def huge_frames(env, checks, host, port, pid):
    # ApiVersions v0's header, so the frame looks like a request that goes
    # on: size, api key 18, version 0, correlation id 1, client id "x".
    header = struct.pack(">hhih", 18, 0, 1, 1) + b"x"
    for declared, what in ((0x7FFFFFFF, "2 GiB"), (100 * 1024 * 1024 + 1, "100 MiB + 1")):
        with RssSampler(pid) as rss:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(struct.pack(">i", declared) + header + b"\0" * 65536)
            closed = closed_by_peer(s, 10)
            s.close()
        checks.check(f"a frame declaring {what} is refused: the connection is closed", closed)
        checks.check(f"... and the node's RSS grew by {rss.growth / MB:.1f} MB (< 16 MB), not "
                     f"the declared size", rss.growth < 16 * MB)


def huge_grpc_message(env, checks, host, port, pid):
    """Streams a Produce call whose gRPC message prefix declares 2 GiB;
    returns when the server refuses it (or gives up after 1 GiB or 60 s)."""
    declared = 0x7FFFFFFF
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    s = socket.create_connection((host, port), timeout=5)
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                          (":path", "/strata.v1.Broker/Produce"),
                          (":authority", f"{host}:{port}"),
                          ("content-type", "application/grpc"), ("te", "trailers")])
    pending = b"\0" + struct.pack(">I", declared)
    chunk = b"\0" * (1 << 20)
    sent, refused, why = 0, False, "nothing"
    deadline = time.monotonic() + 60
    with RssSampler(pid) as rss:
        s.sendall(conn.data_to_send())
        while not refused and sent < (1 << 30) and time.monotonic() < deadline:
            window = min(conn.local_flow_control_window(1), conn.max_outbound_frame_size)
            if window > 0:
                data = (pending + chunk)[:window]
                pending = b""
                conn.send_data(1, data)
                sent += len(data)
                s.sendall(conn.data_to_send())
            ready, _, _ = select.select([s], [], [], 0 if window > 0 else 10)
            if not ready:
                if window == 0:
                    why = "the server stopped reading without an answer"
                    break
                continue
            try:
                got = s.recv(1 << 16)
            except ConnectionResetError:
                got = b""
            if not got:
                refused, why = True, "connection closed"
                break
            for event in conn.receive_data(got):
                if isinstance(event, h2.events.StreamReset):
                    refused, why = True, f"stream reset (HTTP/2 error {event.error_code})"
                elif isinstance(event, h2.events.ConnectionTerminated):
                    refused, why = True, f"GOAWAY (HTTP/2 error {event.error_code})"
                elif isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    status = dict((k.decode() if isinstance(k, bytes) else k,
                                   v.decode() if isinstance(v, bytes) else v)
                                  for k, v in event.headers).get("grpc-status")
                    if status not in (None, "0"):
                        refused, why = True, f"grpc-status {status}"
                elif isinstance(event, h2.events.StreamEnded):
                    refused, why = True, why if refused else "stream ended"
            out = conn.data_to_send()
            if out:
                s.sendall(out)
    s.close()
    checks.note(f"gRPC message declaring 2 GiB: {why} after {sent / MB:.0f} MB sent")
    checks.check(f"a gRPC message declaring 2 GiB is refused before 2 GiB arrive ({why} after "
                 f"{sent / MB:.0f} MB)", refused and sent < declared)
    checks.check(f"... and the node's RSS grew by {rss.growth / MB:.1f} MB (< 256 MB), not the "
                 f"declared size", rss.growth < 256 * MB)


def connect_storm(env, checks, host, port, pid, attempts, listener, still_serving, rss_bound):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = attempts + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    socks = []
    with RssSampler(pid) as rss:
        started = time.monotonic()
        for _ in range(attempts):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                continue
            socks.append(s)
        issued = time.monotonic() - started
        # Settle: each attempt either stays open or is closed by the node.
        # Beyond the listen backlog, SYNs are retried by the kernel (1 s,
        # 3 s, ...), so allow a while, bounded.
        deadline = time.monotonic() + 30
        open_socks, closed = list(socks), 0
        stable_since, last_open = time.monotonic(), None
        while time.monotonic() < deadline:
            still = []
            poller = select.poll()
            by_fd = {}
            for s in open_socks:
                poller.register(s.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
                by_fd[s.fileno()] = s
            gone = set()
            for fd, ev in poller.poll(200):
                s = by_fd[fd]
                try:
                    data = s.recv(1)
                    if data == b"":
                        gone.add(fd)
                except BlockingIOError:
                    pass
                except OSError:
                    gone.add(fd)
            for s in open_socks:
                if s.fileno() in gone:
                    s.close()
                    closed += 1
                else:
                    still.append(s)
            open_socks = still
            if len(open_socks) != last_open:
                last_open, stable_since = len(open_socks), time.monotonic()
            elif len(open_socks) <= MAX_CONNECTIONS and time.monotonic() - stable_since > 3:
                break
        # Which of the open ones completed their handshake (the others are
        # still waiting in SYN retries: not accepted yet).
        connected = 0
        for s in open_socks:
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                try:
                    s.getpeername()
                    connected += 1
                except OSError:
                    pass
        checks.note(f"{len(socks)} attempts issued in {issued:.2f} s; {closed} closed by the "
                    f"node, {len(open_socks)} open ({connected} connected)")
        checks.check(f"{listener}: at most max.connections={MAX_CONNECTIONS} stay open",
                     len(open_socks) <= MAX_CONNECTIONS, len(open_socks))
        checks.check(f"{listener}: the attempts beyond the limit were closed at accept",
                     closed >= len(socks) - MAX_CONNECTIONS, closed)
        still_serving()
        for s in open_socks:
            s.close()
    checks.note(f"node RSS {rss.base / MB:.1f} MB before, peak {rss.peak / MB:.1f} MB")
    checks.check(f"{listener}: RSS grew by {rss.growth / MB:.1f} MB (< {rss_bound / MB:.0f} MB)",
                 rss.growth < rss_bound)


def still_serves(env, checks, bootstrap, topic, when):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "message.timeout.ms": 20000})
    for i in range(10):
        p.produce(topic, f"after-{i}".encode())
    left = p.flush(25)
    checks.check(f"{when}a Kafka client produces through the node", left == 0, left)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": env.name("limits"),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 20
        while len(got) < 10 and time.monotonic() < deadline:
            for m in c.consume(10, 0.5):
                if m.error() is None:
                    got.append(m.value().decode())
    finally:
        c.close()
    checks.check(f"{when}... and consumes the records back",
                 sorted(got) == sorted(f"after-{i}" for i in range(10)), got)


def run(env, checks, attempts):
    cluster = env.cluster
    node = 1
    pid = cluster.procs[node].pid
    host, kafka_port = "127.0.0.1", cluster.kafka_port[node]
    topic = env.name("limits")
    env.create_topic(topic, partitions=1, replication_factor=3)
    with checks.step("huge frames"):
        huge_frames(env, checks, host, kafka_port, pid)
    with checks.step("huge gRPC message"):
        huge_grpc_message(env, checks, host, cluster.client_port[node], pid)
    def grpc_serves():
        # The limit counts the client listeners together: the gRPC door is
        # full too; the CONTROLLER listener is not limited, so the cluster
        # goes on. Another node's gRPC door answers.
        other = f"127.0.0.1:{cluster.client_port[2]}"
        r = si.run_cli(env.cli_path, other, ["topics", "--list"], timeout=20)
        checks.check("with the limit reached, the cluster still serves (strata topics --list "
                     "through another node)", r.returncode == 0 and topic in r.stdout,
                     r.stdout + r.stderr)

    with checks.step("connection storm on the KAFKA listener"):
        connect_storm(env, checks, host, kafka_port, pid, attempts, "KAFKA", grpc_serves,
                      rss_bound=100 * MB)
    # The node's own KAFKA listener only, so it is this node that serves.
    still_serves(env, checks, f"{host}:{kafka_port}", topic, "once the connections are gone, ")
    with checks.step("connection storm on the gRPC client listener"):
        # The listener's own accept loop closes the connections over the
        # limit before gRPC allocates anything for them.
        connect_storm(env, checks, host, cluster.client_port[node], pid, attempts,
                      "gRPC PLAINTEXT", grpc_serves, rss_bound=100 * MB)
    r = si.retry("strata topics --list through node 1", lambda: si.run_cli(
        env.cli_path, f"127.0.0.1:{cluster.client_port[node]}", ["topics", "--list"],
        timeout=20), good=lambda r: r.returncode == 0, timeout_s=10)
    checks.check("once they are gone, node 1's gRPC listener serves again", r.returncode == 0,
                 r.stdout + r.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir", nargs="?")
    parser.add_argument("--connections", type=int, default=10000)
    args = parser.parse_args()
    sys.argv = sys.argv[:1] + ([args.build_dir] if args.build_dir else [])
    sys.exit(si.scenario_main(lambda env, checks: run(env, checks, args.connections),
                              budget_s=150, build_dir=args.build_dir,
                              cluster_properties=[f"max.connections={MAX_CONNECTIONS}"]))
