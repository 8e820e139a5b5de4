"""Harness of the Kafka interop suite: a three-node Strata cluster on loopback
in a temporary directory, and the check/report helpers every scenario uses.

A scenario script is a module with a `run(env, checks)` function and the
line `sys.exit(strata_interop.scenario_main(run, budget_s=...))`. Run alone
it starts its own cluster; run by run_interop.py it is handed a shared one
through the environment (STRATA_INTEROP_KAFKA, STRATA_INTEROP_GRPC,
STRATA_INTEROP_CLI). Either way:
  - every process the harness starts is stopped by its PID (SIGTERM, then
    SIGKILL), whatever happens: a failed check, an exception, SIGTERM from
    CTest, or the scenario's time budget running out; each is also started
    through `setpriv --pdeathsig KILL --` (util-linux), so even a SIGKILLed
    harness leaves none behind. (Not preexec_fn: Python code between fork
    and exec can deadlock while librdkafka's threads run);
  - every wait is bounded in time;
  - the temporary directory is removed (STRATA_INTEROP_KEEP=1 keeps it);
  - each check prints one line, `ok   <what>` or `FAIL <what>: <detail>`,
    and the exit status is 0 only when every check passed.

Ports come from tests/common/free_port.h's counter (pick_free_port), shared
with the C++ tests through a locked file, never from binding port 0.
"""
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# Ports: tests/common/free_port.h's PickFreePort, line for line.

_PORTS_FILE = "/tmp/strata-test-ports"
_SPAN = 2500  # ports just below the ephemeral range


def _try_bind(port):
    """The port bound on loopback as a server would bind it, or 0."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
    except OSError:
        return 0


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _cmod(a, b):
    """C++'s % (truncating), so the counter file reads as the C++ side wrote it."""
    return a - b * int(a / b)


def pick_free_port():
    high = _ephemeral_low()
    low = high - _SPAN
    if low <= 29095:
        return _try_bind(0)
    try:
        fd = os.open(_PORTS_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return _try_bind(0)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            return _try_bind(0)
        m = re.match(rb"\s*([+-]?\d+)", os.pread(fd, 15, 0))
        nxt = int(m.group(1)) if m else 0
        port = 0
        tries = 0
        while tries < _SPAN and port == 0:
            candidate = low + _cmod(_cmod(nxt, _SPAN) + _SPAN, _SPAN)
            nxt = _cmod(nxt + 1, _SPAN)
            port = _try_bind(candidate)
            tries += 1
        data = b"%d\n" % nxt
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError:
            pass  # a lost counter only means the next pick starts over
    finally:
        os.close(fd)  # releases the lock
    return port if port != 0 else _try_bind(0)


# ---------------------------------------------------------------------------
# Checks.


class Checks:
    """Prints one `ok`/`FAIL` line per check and remembers whether all passed."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, what, ok, detail=""):
        ok = bool(ok)
        if ok:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed.append(what)
            detail = str(detail)
            if len(detail) > 3000:
                detail = detail[:3000] + "...(cut)"
            print("FAIL " + what + (": " + detail if detail else ""), flush=True)
        return ok

    def note(self, text):
        print("note " + text, flush=True)

    @contextlib.contextmanager
    def step(self, what):
        """A block whose exception is a failed check named `what`, not the end
        of the scenario."""
        try:
            yield
        except ScenarioTimeout:
            raise
        except Exception as e:  # noqa: BLE001 - reported as the check's failure
            self.check(what, False, f"{type(e).__name__}: {e}")

    @property
    def ok(self):
        return not self.failed and self.passed > 0


class ScenarioTimeout(BaseException):
    """The scenario's budget ran out. A BaseException, so that no `except
    Exception` in a scenario (or a client library) can swallow it."""


def retry(what, attempt, good=bool, timeout_s=10, interval_s=0.3):
    """Calls attempt() until good(its value) or timeout_s passes; returns the
    last value. For a single-shot check of something the cluster propagates
    (Metadata on another node, a config): on a loaded machine it gets a
    bounded while to converge, and the check is then made on the last
    value. `what` names it in the note printed when it took more than one
    try."""
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        value = attempt()
        passed = good(value)
        if passed or time.monotonic() - started >= timeout_s:
            break
        time.sleep(interval_s)
    if tries > 1:
        print(f"note {what}: {'passed' if passed else 'still failing'} after {tries} tries "
              f"({time.monotonic() - started:.1f} s)", flush=True)
    return value


def wait_until(done, timeout_s, interval_s=0.2):
    """Calls done() until it returns a true value or timeout_s passes; returns
    the last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = done()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def run(cmd, timeout=30, input=None, env=None, cwd=None):
    """Runs cmd to completion (bounded); a timeout is a result (returncode
    None, what was printed so far), not an exception."""
    try:
        return subprocess.run(with_pdeathsig(cmd), input=input, capture_output=True,
                              timeout=timeout, env=env, cwd=cwd,
                              text=not isinstance(input, bytes))
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        err = e.stderr or ""
        if isinstance(out, bytes) and not isinstance(input, bytes):
            out, err = out.decode(errors="replace"), err.decode(errors="replace")
        return subprocess.CompletedProcess(cmd, None, out, err + f"\n(timed out after {timeout} s)")


# ---------------------------------------------------------------------------
# Kafka's Metadata v1 over a raw socket: the readiness probe needs no client.


def kafka_metadata_brokers(host, port, timeout_s=3.0):
    """[(node_id, host, port)] as a node's Kafka listener answers Metadata v1
    for no topics, or None."""
    client_id = b"strata-interop"
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.settimeout(timeout_s)
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exactly(s, 4))[0]
            resp = _recv_exactly(s, size)
    except (OSError, struct.error, ConnectionError):
        return None
    try:
        pos = 4  # correlation id
        (count,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        brokers = []
        for _ in range(count):
            node_id, hlen = struct.unpack_from(">ih", resp, pos)
            pos += 6
            bhost = resp[pos:pos + hlen].decode()
            pos += hlen
            (bport, rlen) = struct.unpack_from(">ih", resp, pos)
            pos += 6 + max(rlen, 0)
            brokers.append((node_id, bhost, bport))
        return sorted(brokers)
    except (struct.error, UnicodeDecodeError):
        return None


def kafka_metadata_topic(host, port, topic, timeout_s=3.0):
    """{partition: leader} for `topic` as a node's Kafka listener answers
    Metadata v4 with allow_auto_topic_creation=false (asking never creates
    it), or None when it does not know the topic (or does not answer)."""
    client_id = b"strata-interop"
    name = topic.encode()
    body = (struct.pack(">hhih", 3, 4, 8, len(client_id)) + client_id
            + struct.pack(">ih", 1, len(name)) + name + b"\x00")
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as s:
            s.settimeout(timeout_s)
            s.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exactly(s, 4))[0]
            resp = _recv_exactly(s, size)
    except (OSError, struct.error, ConnectionError):
        return None
    try:
        pos = 4 + 4  # correlation id, throttle_time_ms
        (count,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(count):  # brokers: node_id, host, port, rack
            (hlen,) = struct.unpack_from(">h", resp, pos + 4)
            pos += 6 + hlen + 4
            (rlen,) = struct.unpack_from(">h", resp, pos)
            pos += 2 + max(rlen, 0)
        (clen,) = struct.unpack_from(">h", resp, pos)  # cluster_id
        pos += 2 + max(clen, 0) + 4  # and controller_id
        (ntopics,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        found = None
        for _ in range(ntopics):
            err, nlen = struct.unpack_from(">hh", resp, pos)
            pos += 4
            tname = resp[pos:pos + nlen].decode()
            pos += nlen + 1  # is_internal
            (nparts,) = struct.unpack_from(">i", resp, pos)
            pos += 4
            leaders = {}
            for _ in range(nparts):
                perr, index, leader = struct.unpack_from(">hii", resp, pos)
                pos += 10
                for _ in range(2):  # replicas, isr
                    (n,) = struct.unpack_from(">i", resp, pos)
                    pos += 4 + 4 * max(n, 0)
                leaders[index] = leader if perr == 0 else -1
            if tname == topic and err == 0:
                found = leaders
        return found
    except (struct.error, UnicodeDecodeError):
        return None


def _recv_exactly(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


# ---------------------------------------------------------------------------
# The cluster.

_SETPRIV = shutil.which("setpriv")


def with_pdeathsig(cmd):
    """cmd run through `setpriv --pdeathsig KILL --`: the child gets SIGKILL
    when the thread that started it dies, even by SIGKILL. setpriv execs the
    command, so the PID the harness holds is the command's. Without setpriv
    (no util-linux) cmd as it is: the harness still stops it by PID."""
    if _SETPRIV is None:
        return list(cmd)
    return [_SETPRIV, "--pdeathsig", "KILL", "--"] + list(cmd)


def popen(cmd, **kwargs):
    """subprocess.Popen(cmd) with the parent-death signal (with_pdeathsig);
    stop the result by its PID."""
    return subprocess.Popen(with_pdeathsig(cmd), **kwargs)


def default_build_dir():
    return os.environ.get("STRATA_BUILD_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")


class Cluster:
    """A three-node (broker,controller) Strata cluster in a temporary dir.

    with Cluster(build_dir) as c:   # started and ready, or an exception
        c.kafka_bootstrap            # "127.0.0.1:P3,..." (KAFKA listeners)
        c.grpc_bootstrap             # "127.0.0.1:P1,..." (PLAINTEXT: gRPC)
        c.cli(["topics", "--list"])  # the strata CLI against the cluster
    """

    def __init__(self, build_dir=None, nodes=3, extra_properties=(), fast_fencing=False):
        build_dir = os.path.abspath(build_dir or default_build_dir())
        self.server = os.path.join(build_dir, "broker", "strata-server")
        self.cli_path = os.path.join(build_dir, "tools", "strata")
        for path in (self.server, self.cli_path):
            if not os.access(path, os.X_OK):
                raise RuntimeError(f"{path} is missing; build strata-server and strata first")
        self.nodes = list(range(1, nodes + 1))
        self.extra = list(extra_properties)
        # Kafka's default broker.session.timeout.ms (9 s): on a loaded 2-core
        # runner a node starved for a few seconds must not be fenced (it
        # would drop out of Metadata and move leaders under the clients).
        # Only a scenario that kills a node asks for 3 s, as
        # tests/integration/strata_cluster.cc, so the crash is noticed soon.
        self.session_timeout_ms = 3000 if fast_fencing else 9000
        self.dir = None
        self.procs = {}
        self.logs = {}
        self.client_port, self.peer_port, self.kafka_port = {}, {}, {}
        self.http_port = {}

    # Addresses.
    @property
    def kafka_bootstrap(self):
        return ",".join(f"127.0.0.1:{self.kafka_port[n]}" for n in self.nodes)

    @property
    def grpc_bootstrap(self):
        return ",".join(f"127.0.0.1:{self.client_port[n]}" for n in self.nodes)

    def cli(self, args, timeout=30, input=None):
        return run_cli(self.cli_path, self.grpc_bootstrap, args, timeout=timeout, input=input)

    # Life cycle.
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, timeout_s=60):
        self.dir = tempfile.mkdtemp(prefix="strata-interop-")
        for n in self.nodes:
            self.client_port[n] = pick_free_port()
            self.peer_port[n] = pick_free_port()
            self.kafka_port[n] = pick_free_port()
            self.http_port[n] = pick_free_port()
        voters = ",".join(f"{n}@127.0.0.1:{self.peer_port[n]}" for n in self.nodes)
        for n in self.nodes:
            props = os.path.join(self.dir, f"node{n}.properties")
            with open(props, "w") as f:
                f.write("\n".join([
                    f"node.id={n}",
                    "process.roles=broker,controller",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.client_port[n]},"
                    f"CONTROLLER://127.0.0.1:{self.peer_port[n]},"
                    f"KAFKA://127.0.0.1:{self.kafka_port[n]},"
                    f"HTTP://127.0.0.1:{self.http_port[n]}",
                    f"controller.quorum.voters={voters}",
                    f"log.dirs={self.dir}/node{n}/logs",
                    f"metadata.log.dir={self.dir}/node{n}/metadata",
                    # As deploy/local: groups on all three nodes, and a
                    # group's first rebalance does not wait for more members.
                    "num.partitions=1",
                    "default.replication.factor=1",
                    "offsets.topic.replication.factor=3",
                    "group.initial.rebalance.delay.ms=0",
                    f"broker.session.timeout.ms={self.session_timeout_ms}",
                    "broker.heartbeat.interval.ms=500",
                ] + self.extra) + "\n")
            self._launch(n)
        if not wait_until(self._ready, timeout_s, 0.3):
            dead = [n for n in self.nodes if self.procs[n].poll() is not None]
            raise RuntimeError(
                f"the cluster was not ready in {timeout_s} s (exited nodes: {dead})\n"
                + self.log_tails())

    def _launch(self, n):
        props = os.path.join(self.dir, f"node{n}.properties")
        if n not in self.logs:
            self.logs[n] = open(os.path.join(self.dir, f"node{n}.log"), "ab")
        self.procs[n] = popen([self.server, props], stdout=self.logs[n],
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def kill(self, node):
        """SIGKILL to one node (a crash: no controlled shutdown)."""
        p = self.procs[node]
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def restart(self, node):
        """Starts a stopped node again on its ports and directories."""
        if self.running(node):
            raise RuntimeError(f"node {node} is running")
        self._launch(node)

    def _ready(self):
        for n in self.nodes:
            if self.procs[n].poll() is not None:
                raise RuntimeError(f"node {n} exited with {self.procs[n].returncode}\n"
                                   + self.log_tails())
        r = self.cli(["metadata-quorum", "describe", "--status"], timeout=5)
        m = re.search(r"^LeaderId:\s*(-?\d+)", r.stdout or "", re.M)
        if r.returncode != 0 or not m or m.group(1) == "-1":
            return False
        r = self.cli(["brokers", "--list"], timeout=5)
        if r.returncode != 0 or len((r.stdout or "").split()) < len(self.nodes):
            return False
        want = sorted((n, "127.0.0.1", self.kafka_port[n]) for n in self.nodes)
        return all(kafka_metadata_brokers("127.0.0.1", self.kafka_port[n]) == want
                   for n in self.nodes)

    def running(self, node):
        p = self.procs.get(node)
        return p is not None and p.poll() is None

    def stop(self, grace_s=15):
        """SIGTERM to every node still running, SIGKILL to those alive after
        grace_s; then the directory goes (unless STRATA_INTEROP_KEEP=1)."""
        for p in self.procs.values():
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for n, p in self.procs.items():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"note node {n} did not stop in {grace_s} s; killing it", flush=True)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()
        for log in self.logs.values():
            log.close()
        self.logs.clear()
        if self.dir:
            if os.environ.get("STRATA_INTEROP_KEEP") == "1":
                print(f"note cluster directory kept: {self.dir}", flush=True)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def log_tails(self, lines=25):
        out = []
        for n in self.nodes:
            path = os.path.join(self.dir or "", f"node{n}.log")
            with contextlib.suppress(OSError):
                with open(path, "rb") as f:
                    tail = f.read().decode(errors="replace").splitlines()[-lines:]
                out.append(f"--- node {n} log (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(out)


def run_cli(cli_path, grpc_bootstrap, args, timeout=30, input=None):
    """`strata <command> --bootstrap-server <cluster> <rest>`."""
    return run([cli_path, args[0], "--bootstrap-server", grpc_bootstrap] + list(args[1:]),
               timeout=timeout, input=input)


# ---------------------------------------------------------------------------
# What a scenario is handed.


class Env:
    """The cluster as a scenario sees it: its addresses and the strata CLI,
    whether the scenario started it or run_interop.py shares one."""

    def __init__(self, kafka_bootstrap, grpc_bootstrap, cli_path, cluster=None):
        # The build directory holds the CLI (build/tools/strata) and the
        # suite's helper programs (build/tests/interop/).
        self.build_dir = os.path.dirname(os.path.dirname(os.path.abspath(cli_path)))
        self.kafka_bootstrap = kafka_bootstrap
        self.grpc_bootstrap = grpc_bootstrap
        self.cli_path = cli_path
        self.cluster = cluster  # None when shared
        self.interop_dir = os.path.dirname(os.path.abspath(__file__))
        # Names unique to this run, so scenarios sharing a cluster never meet.
        self.suffix = f"{os.getpid()}-{int(time.time() * 1000) % 100000}"

    def name(self, base):
        return f"{base}-{self.suffix}"

    def cli(self, args, timeout=30, input=None):
        return run_cli(self.cli_path, self.grpc_bootstrap, args, timeout=timeout, input=input)

    @property
    def kafka_addresses(self):
        """[(host, port)] of every node's KAFKA listener."""
        out = []
        for hp in self.kafka_bootstrap.split(","):
            host, _, port = hp.rpartition(":")
            out.append((host, int(port)))
        return out

    def create_topic(self, topic, partitions=1, replication_factor=3, configs=()):
        """Creates a topic over gRPC (the strata CLI) and waits (bounded)
        until the CLI describes a leader for every partition and every
        node's KAFKA listener answers Metadata with the topic and a leader
        for each of its partitions."""
        args = ["topics", "--create", "--topic", topic, "--partitions", str(partitions),
                "--replication-factor", str(replication_factor)]
        for c in configs:
            args += ["--config", c]
        r = self.cli(args, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"strata topics --create {topic}: {r.stdout}{r.stderr}")
        self.wait_topic_leaders(topic, partitions)

    def wait_topic_leaders(self, topic, partitions, timeout_s=20):
        def all_led():
            r = self.cli(["topics", "--describe", "--topic", topic], timeout=5)
            leaders = re.findall(r"Partition: (\d+)\tLeader: (\d+)", r.stdout or "")
            return len(leaders) == partitions
        deadline = time.monotonic() + timeout_s
        if not wait_until(all_led, timeout_s, 0.2):
            raise RuntimeError(f"topic {topic} has no leader for every partition in {timeout_s} s")
        # Each node learns of the topic from the metadata log on its own; a
        # client asking a node that lags would get UNKNOWN_TOPIC_OR_PARTITION.
        want = set(range(partitions))

        def every_listener():
            for host, port in self.kafka_addresses:
                leaders = kafka_metadata_topic(host, port, topic)
                if leaders is None or set(leaders) != want or min(leaders.values()) < 0:
                    return False
            return True
        if not wait_until(every_listener, max(1.0, deadline - time.monotonic()), 0.1):
            seen = {port: kafka_metadata_topic(host, port, topic)
                    for host, port in self.kafka_addresses}
            raise RuntimeError(f"topic {topic}: not every KAFKA listener shows {partitions} "
                               f"partition(s) with leaders in {timeout_s} s: {seen}")


def scenario_main(run_fn, budget_s, build_dir=None, own_cluster=False, cluster_properties=()):
    """Runs a scenario within budget_s seconds against the shared cluster the
    environment names, or against its own three-node cluster (always with
    own_cluster: a scenario that kills nodes, whose cluster fences a
    stopped node within 3 s; or that needs cluster_properties, lines added
    to every node's properties). Returns the exit status: 0 when every
    check passed."""
    own_cluster = own_cluster or bool(cluster_properties)
    checks = Checks()
    name = os.path.basename(sys.argv[0])
    started = time.monotonic()

    def on_alarm(signum, frame):
        raise ScenarioTimeout(f"{name} ran over its budget of {budget_s} s")

    def on_term(signum, frame):
        raise SystemExit(f"{name}: signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(int(budget_s))
    cluster = None
    try:
        if os.environ.get("STRATA_INTEROP_KAFKA") and not own_cluster:
            env = Env(os.environ["STRATA_INTEROP_KAFKA"], os.environ["STRATA_INTEROP_GRPC"],
                      os.environ["STRATA_INTEROP_CLI"])
        else:
            if build_dir is None and len(sys.argv) > 1:
                build_dir = sys.argv[1]
            if build_dir is None and os.environ.get("STRATA_INTEROP_CLI"):
                build_dir = os.path.dirname(os.path.dirname(os.environ["STRATA_INTEROP_CLI"]))
            cluster = Cluster(build_dir, extra_properties=cluster_properties,
                              fast_fencing=own_cluster and not cluster_properties)
            t0 = time.monotonic()
            cluster.__enter__()
            checks.note(f"three-node cluster ready in {time.monotonic() - t0:.1f} s "
                        f"(kafka {cluster.kafka_bootstrap})")
            env = Env(cluster.kafka_bootstrap, cluster.grpc_bootstrap, cluster.cli_path, cluster)
        run_fn(env, checks)
        if cluster is not None:
            checks.check("every node still running", all(cluster.running(n) for n in cluster.nodes),
                         cluster.log_tails())
    except ScenarioTimeout as e:
        checks.check("within the time budget", False, str(e))
    except Exception as e:  # noqa: BLE001 - any escape is a failed scenario
        import traceback
        checks.check("scenario ran to its end", False,
                     f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    finally:
        # A second SIGTERM (or a late alarm) must not cut the cleanup short:
        # the nodes would be left to PDEATHSIG and the directory behind.
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cluster is not None:
            if not checks.ok:
                print(cluster.log_tails(), flush=True)
            cluster.stop()
    status = "passed" if checks.ok else f"FAILED ({len(checks.failed)} of " \
        f"{len(checks.failed) + checks.passed} checks)"
    print(f"{name}: {status} in {time.monotonic() - started:.1f} s", flush=True)
    return 0 if checks.ok else 1
