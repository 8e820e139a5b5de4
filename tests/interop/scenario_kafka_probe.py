#!/usr/bin/python3
"""Hand-built Kafka requests for the APIs and versions that the client
libraries of this suite never send (design §5's kafka_probe), each against
a three-node Strata cluster's KAFKA listeners:

  tests/interop/scenario_kafka_probe.py [BUILD_DIR]

  - ApiVersions v4 (above ours): header v0, UNSUPPORTED_VERSION (35) and the
    v0-shaped list of what we serve, ApiVersions 0-3 included;
  - DescribeCluster v0 and v1 (flexible): the cluster id, the controller, the
    three brokers at their KAFKA addresses;
  - ElectLeaders v1 and v2 (flexible), preferred, for partitions already led
    by their preferred replica: ELECTION_NOT_NEEDED (84) each;
  - IncrementalAlterConfigs v0 and v1 (flexible): SET, APPEND to a list,
    DELETE, each seen by `strata configs --describe` over gRPC; an unknown
    operation refused;
  - OffsetForLeaderEpoch v2, v3 and v4 (flexible) to the partition's leader,
    with CurrentLeaderEpoch -1 (unknown: not fenced) and 0: epoch 0's end
    offset is the log end; a future epoch: UNKNOWN_LEADER_EPOCH (75); a
    follower: NOT_LEADER_OR_FOLLOWER (6);
  - Fetch v7 and v11 with a session id Strata never gave and epoch 1:
    FETCH_SESSION_ID_NOT_FOUND (70); sessionless (0, -1): the records;
    Fetch v11 with a future CurrentLeaderEpoch: UNKNOWN_LEADER_EPOCH (75).
"""
import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

# ---------------------------------------------------------------------------
# Wire encoding (Kafka's primitive types) and one request/response exchange.


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def boolean(v): return b"\x01" if v else b"\x00"


def string(s, flexible=False):
    if s is None:
        return uvarint(0) if flexible else i16(-1)
    b = s.encode()
    return (uvarint(len(b) + 1) if flexible else i16(len(b))) + b


def array(items, flexible=False):
    if items is None:
        return uvarint(0) if flexible else i32(-1)
    return (uvarint(len(items) + 1) if flexible else i32(len(items))) + b"".join(items)


TAGS = uvarint(0)  # an empty tagged-field section


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        out = self.data[self.pos:self.pos + n]
        if len(out) != n:
            raise ValueError(f"short read at {self.pos}")
        self.pos += n
        return out

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]
    def boolean(self): return self.take(1) != b"\x00"

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def string(self, flexible=False):
        n = self.uvarint() - 1 if flexible else self.i16()
        return None if n < 0 else self.take(n).decode()

    def count(self, flexible=False):
        return self.uvarint() - 1 if flexible else self.i32()

    def array(self, read, flexible=False):
        n = self.count(flexible)
        return None if n < 0 else [read() for _ in range(n)]

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


class Connection:
    """One TCP connection to a KAFKA listener; request() sends one request
    and returns a Reader over the response body (after its header)."""

    def __init__(self, address, timeout_s=10):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.corr = 0

    def close(self):
        self.sock.close()

    def request(self, key, version, body, flexible, response_header_flexible=None):
        self.corr += 1
        header = i16(key) + i16(version) + i32(self.corr) + string("strata-probe")
        if flexible:
            header += TAGS  # request header v2
        frame = header + body
        self.sock.sendall(i32(len(frame)) + frame)
        size = struct.unpack(">i", self._exactly(4))[0]
        r = Reader(self._exactly(size))
        corr = r.i32()
        if corr != self.corr:
            raise ValueError(f"correlation id {corr}, sent {self.corr}")
        if flexible if response_header_flexible is None else response_header_flexible:
            r.tags()  # response header v1
        return r

    def _exactly(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the broker")
            buf += chunk
        return buf


# ---------------------------------------------------------------------------
# Probes.


def probe_api_versions_v4(env, checks):
    c = Connection(env.kafka_bootstrap.split(",")[0])
    try:
        body = string("strata-probe", True) + string("1.0", True) + TAGS
        # ApiVersions answers with response header v0 whatever the version.
        r = c.request(18, 4, body, flexible=True, response_header_flexible=False)
        error = r.i16()
        apis = r.array(lambda: (r.i16(), r.i16(), r.i16()))
        own = [a for a in apis or [] if a[0] == 18]
        checks.check("ApiVersions v4: UNSUPPORTED_VERSION (35) and a v0 list with ApiVersions 0-3",
                     error == 35 and own == [(18, 0, 3)] and len(apis) > 10,
                     f"error {error}, {len(apis or [])} apis, ApiVersions {own}")
    finally:
        c.close()


def probe_describe_cluster(env, checks, cluster_ports):
    for version in (0, 1):
        c = Connection(env.kafka_bootstrap.split(",")[version % 3])
        try:
            body = boolean(False) + (i8(1) if version >= 1 else b"") + TAGS
            r = c.request(60, version, body, flexible=True)
            r.i32()  # throttle
            error, message = r.i16(), r.string(True)
            if version >= 1:
                r.i8()  # endpoint type
            cluster_id, controller = r.string(True), r.i32()

            def broker():
                b = (r.i32(), r.string(True), r.i32(), r.string(True))
                r.tags()
                return b
            brokers = r.array(broker, True)
            r.i32()  # authorized operations
            r.tags()
            listed = sorted((b[0], b[1], b[2]) for b in brokers or [])
            checks.check(f"DescribeCluster v{version}: cluster id, controller, 3 brokers at "
                         "their KAFKA addresses",
                         error == 0 and cluster_id and listed == cluster_ports
                         and controller in [b[0] for b in listed],
                         f"error {error} {message} id {cluster_id!r} controller {controller} "
                         f"{listed}")
        finally:
            c.close()


def probe_elect_leaders(env, checks, topic):
    for version in (1, 2):
        flex = version >= 2
        c = Connection(env.kafka_bootstrap.split(",")[0])
        try:
            parts = [string(topic, flex) + array([i32(0), i32(1)], flex) + (TAGS if flex else b"")]
            body = i8(0) + array(parts, flex) + i32(15000) + (TAGS if flex else b"")
            r = c.request(43, version, body, flexible=flex)
            r.i32()  # throttle
            top_error = r.i16()

            def partition():
                p = (r.i32(), r.i16(), r.string(flex))
                if flex:
                    r.tags()
                return p

            def topic_result():
                t = (r.string(flex), r.array(partition, flex))
                if flex:
                    r.tags()
                return t
            results = r.array(topic_result, flex)
            codes = {(t, p[0]): p[1] for t, ps in results or [] for p in ps}
            checks.check(f"ElectLeaders v{version} preferred, already preferred: "
                         "ELECTION_NOT_NEEDED (84) for each partition",
                         top_error == 0 and codes == {(topic, 0): 84, (topic, 1): 84},
                         f"error {top_error} {results}")
        finally:
            c.close()


def incremental_alter(env, version, topic, ops):
    """ops: [(name, operation, value)] -> [(error, message)] per resource."""
    flex = version >= 1
    c = Connection(env.kafka_bootstrap.split(",")[1])
    try:
        configs = [string(n, flex) + i8(op) + string(v, flex) + (TAGS if flex else b"")
                   for n, op, v in ops]
        resource = i8(2) + string(topic, flex) + array(configs, flex) + (TAGS if flex else b"")
        body = array([resource], flex) + boolean(False) + (TAGS if flex else b"")
        r = c.request(44, version, body, flexible=flex)
        r.i32()

        def response():
            out = (r.i16(), r.string(flex), r.i8(), r.string(flex))
            if flex:
                r.tags()
            return out
        return [(e, m) for e, m, _, _ in r.array(response, flex)]
    finally:
        c.close()


def probe_incremental_alter_configs(env, checks, topic):
    def described():
        r = env.cli(["configs", "--describe", "--entity-type", "topics", "--entity-name", topic])
        return r.stdout or ""
    SET, DELETE, APPEND = 0, 1, 2
    for version in (0, 1):
        value = f"{1234500 + version}"
        res = incremental_alter(env, version, topic, [("retention.ms", SET, value)])
        ok = res == [(0, None)] and si.wait_until(
            lambda: f"retention.ms={value}" in described(), 10)
        checks.check(f"IncrementalAlterConfigs v{version} SET retention.ms={value}", ok,
                     f"{res} {described()}")
    res = incremental_alter(env, 1, topic, [("cleanup.policy", APPEND, "compact")])
    ok = res == [(0, None)] and si.wait_until(
        lambda: re.search(r"cleanup\.policy=(delete,compact|compact,delete)", described()), 10)
    checks.check("IncrementalAlterConfigs v1 APPEND cleanup.policy compact (to delete)",
                 ok, f"{res} {described()}")
    res = incremental_alter(env, 1, topic, [("retention.ms", DELETE, None)])
    ok = res == [(0, None)] and si.wait_until(lambda: "retention.ms=" not in described(), 10)
    checks.check("IncrementalAlterConfigs v1 DELETE retention.ms", ok, f"{res} {described()}")
    res = incremental_alter(env, 1, topic, [("retention.ms", 7, "1")])
    checks.check("IncrementalAlterConfigs v1 with operation 7: INVALID_REQUEST (42) or "
                 "INVALID_CONFIG (40)", len(res) == 1 and res[0][0] in (40, 42), res)


def probe_offset_for_leader_epoch(env, checks, topic, leader, follower, end):
    # CurrentLeaderEpoch -1 is "unknown: do not fence" (KIP-320; Kafka's
    # Partition.checkCurrentLeaderEpoch skips the check for -1); librdkafka
    # and the Java consumer send the epoch they know, 0 here.
    for version, current, node, role in [
            (2, -1, leader, "leader"), (2, 0, leader, "leader"), (2, -1, follower, "follower"),
            (3, -1, leader, "leader"), (3, 0, leader, "leader"), (3, 0, follower, "follower"),
            (4, -1, leader, "leader"), (4, 0, leader, "leader"), (4, 0, follower, "follower"),
            (4, 5, leader, "leader, a future epoch")]:
        flex = version >= 4
        if True:
            c = Connection(node)
            try:
                parts = [i32(0) + i32(current) + i32(0) + (TAGS if flex else b"")]
                topics = [string(topic, flex) + array(parts, flex) + (TAGS if flex else b"")]
                body = (i32(-1) if version >= 3 else b"") + array(topics, flex) + \
                    (TAGS if flex else b"")
                r = c.request(23, version, body, flexible=flex)
                r.i32()

                def partition():
                    p = (r.i16(), r.i32(), r.i32(), r.i64())
                    if flex:
                        r.tags()
                    return p

                def topic_result():
                    t = (r.string(flex), r.array(partition, flex))
                    if flex:
                        r.tags()
                    return t
                results = r.array(topic_result, flex)
                p = results[0][1][0] if results and results[0][1] else None
                asked = f"OffsetForLeaderEpoch v{version} (current epoch {current}) to the {role}"
                if role == "leader":
                    checks.check(f"{asked}: epoch 0 ends at the log end {end}",
                                 p is not None and p[0] == 0 and p[2] == 0 and p[3] == end,
                                 results)
                elif role == "follower":
                    checks.check(f"{asked}: NOT_LEADER_OR_FOLLOWER (6)",
                                 p is not None and p[0] == 6, results)
                else:
                    checks.check(f"{asked}: UNKNOWN_LEADER_EPOCH (75)",
                                 p is not None and p[0] == 75, results)
            finally:
                c.close()


def fetch(address, version, topic, session_id, session_epoch, current_leader_epoch=-1):
    """(top-level error, session id, record bytes, partition errors)."""
    c = Connection(address)
    try:
        part = (i32(0) + (i32(current_leader_epoch) if version >= 9 else b"") + i64(0) + i64(-1) +
                i32(1 << 20))
        topics = array([string(topic) + array([part])])
        body = (i32(-1) + i32(100) + i32(1) + i32(1 << 20) + i8(0) + i32(session_id) +
                i32(session_epoch) + topics + array([]) + (string("") if version >= 11 else b""))
        r = c.request(1, version, body, flexible=False)
        r.i32()
        error, sid = r.i16(), r.i32()
        records = 0
        partition_errors = []
        if error == 0:
            for _ in range(r.i32()):
                r.string()
                for _ in range(r.i32()):
                    r.i32()
                    partition_errors.append(r.i16())
                    r.i64(), r.i64(), r.i64()
                    aborted = r.i32()
                    for _ in range(max(aborted, 0)):
                        r.i64(), r.i64()
                    if version >= 11:
                        r.i32()  # preferred read replica
                    n = r.i32()
                    records += max(n, 0)
                    r.take(max(n, 0))
        return error, sid, records, partition_errors
    finally:
        c.close()


def probe_fetch_sessions(env, checks, topic, leader):
    for version in (7, 11):
        error, sid, _, _ = fetch(leader, version, topic, 12345, 1)
        checks.check(f"Fetch v{version} session id 12345 epoch 1 (never given): "
                     "FETCH_SESSION_ID_NOT_FOUND (70)", error == 70, f"error {error} sid {sid}")
        error, sid, size, perr = fetch(leader, version, topic, 0, -1)
        checks.check(f"Fetch v{version} sessionless (0, -1): no error, records returned",
                     error == 0 and perr == [0] and size > 0,
                     f"error {error} sid {sid} partition errors {perr} bytes {size}")
    # Fetch v9+ carries the consumer's CurrentLeaderEpoch (KIP-320): 0 is the
    # leader's, a later one is UNKNOWN_LEADER_EPOCH, as Kafka's
    # Partition.checkCurrentLeaderEpoch.
    for current, want in ((0, 0), (5, 75)):
        error, _, _, perr = fetch(leader, 11, topic, 0, -1, current_leader_epoch=current)
        checks.check(f"Fetch v11 with CurrentLeaderEpoch {current}: partition error {want}",
                     error == 0 and perr == [want], f"error {error} partition errors {perr}")


def run(env, checks):
    topic = env.name("probe")
    env.create_topic(topic, partitions=2, replication_factor=3)
    r = env.cli(["topics", "--describe", "--topic", topic])
    leader0 = re.search(r"Partition: 0\tLeader: (\d+)\tReplicas: ([\d,]+)", r.stdout or "")
    kafka = env.kafka_bootstrap.split(",")
    grpc = env.grpc_bootstrap.split(",")
    # Node n's KAFKA address: the harness lists nodes 1..3 in order.
    leader = kafka[int(leader0.group(1)) - 1]
    follower = next(kafka[int(n) - 1] for n in leader0.group(2).split(",")
                    if int(n) != int(leader0.group(1)))
    assert len(grpc) == len(kafka)
    ports = sorted((i + 1, "127.0.0.1", int(a.rsplit(":", 1)[1])) for i, a in enumerate(kafka))

    records = 7
    p = si.run(["kcat", "-P", "-b", env.kafka_bootstrap, "-t", topic, "-p", "0", "-X", "acks=all"],
               input="".join(f"r{i}\n" for i in range(records)), timeout=30)
    checks.check("7 records produced to partition 0 (kcat)", p.returncode == 0, p.stderr)

    for name, probe in [
            ("ApiVersions v4", lambda: probe_api_versions_v4(env, checks)),
            ("DescribeCluster", lambda: probe_describe_cluster(env, checks, ports)),
            ("ElectLeaders", lambda: probe_elect_leaders(env, checks, topic)),
            ("IncrementalAlterConfigs", lambda: probe_incremental_alter_configs(env, checks,
                                                                                topic)),
            ("OffsetForLeaderEpoch", lambda: probe_offset_for_leader_epoch(
                env, checks, topic, leader, follower, records)),
            ("Fetch sessions", lambda: probe_fetch_sessions(env, checks, topic, leader))]:
        with checks.step(name):
            probe()


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=90))
