#!/usr/bin/python3
"""The ACL matrix (issue 16, acceptance 2): each API a Kafka client uses,
against each resource type it touches, allowed and denied, on both client
listeners, with deny-wins, prefixed patterns and implied operations.

  tests/interop/scenario_acl_matrix.py [BUILD_DIR]

One node (broker,controller, a single voter) in a temporary directory:
  - KAFKA listener: SASL_PLAINTEXT, PLAIN users admin, alice and bob;
  - PLAINTEXT (gRPC) listener: SSL with ssl.client.auth=required, client
    certificates from deploy/secure/make-certs.sh (CN=alice -> User:alice);
  - CONTROLLER listener: PLAINTEXT;
  - StandardAuthorizer on, super.users=User:admin,
    allow.everyone.if.no.acl.found=false (the default).

Each check calls one API directly, so it sees that API's exact Kafka error
code and nothing else (a client library would ask Metadata or
FindCoordinator first and report their refusal instead):
  - Kafka listener: raw Kafka protocol requests (kafka-python's protocol
    types and record builder; the APIs it has no class for, and the compact
    fields of the flexible-only DescribeProducers, DescribeTransactions and
    ListTransactions, are written here) after SaslHandshake v1 +
    SaslAuthenticate (PLAIN);
  - gRPC listener: unary calls to the strata.v1 services over TLS with the
    principal's client certificate, written with the standard library
    (HTTP/2 frames, HPACK literals, protobuf: Debian's Python has no
    grpcio); their ErrorCode fields are Kafka's codes;
  - then the `strata` CLI on the gRPC listener (--command-config,
    --producer.config, --consumer.config with a client certificate) for
    what a user sees: Kafka's exception names and messages.

The matrix is ROWS below: a row is (API, resource type, operation the API
checks, probe, expected when denied, expected when allowed[, principal,
listeners]). For each row and each of its listeners the checks are
  denied-without-acl   no ACL on the resource -> the API's authorization
                       error (29 TOPIC_, 30 GROUP_, 31 CLUSTER_, 53
                       TRANSACTIONAL_ID_AUTHORIZATION_FAILED) or, for a
                       listing, the resource left out;
  allowed-with-acl     ALLOW <op> on the literal name -> the API's success;
  deny-wins            ALLOW and DENY <op> on the literal name -> denied;
  allowed-prefixed     ALLOW <op> on a PREFIXED pattern the name starts with;
  deny-wins-prefixed   that prefixed ALLOW plus a literal DENY -> denied;
and the IMPLIED rows check an operation allowed through another one (Read,
Write, Delete, Alter imply Describe; AlterConfigs implies DescribeConfigs),
that a DENY of the implied operation still wins, and that a DENY of the
implying operation does not deny the implied one (Row.acls() writes the
bindings each check gets). Every check has a resource name of its own, so
the ACLs of all resource-level rows are created in one batch up front and
no check sees another's state. The few calls that need more than the
resource under test get it from "base-*" names alice may use (BASE_ACLS).
The cluster is one resource: its rows run as bob (so that alice's listings
are never widened by Describe on the cluster) in three steps - no ACL,
ALLOW, ALLOW+DENY - and the idempotent producer's other route (Write on any
topic) in two more.

Setup a check needs (topics, groups with offsets, a producer id and an open
transaction for AddPartitionsToTxn / EndTxn / TxnOffsetCommit) is done as
the super user admin over Kafka's protocol, so a denied and an allowed check
differ only by the ACLs. At the end the matrix is printed: per row, checks
passed per listener.
"""
import contextlib
import os
import re
import signal
import socket
import ssl
import struct
import sys
import tempfile
import time
from io import BytesIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

from kafka.protocol import admin as kadmin  # noqa: E402
from kafka.protocol import commit as kcommit  # noqa: E402
from kafka.protocol import fetch as kfetch  # noqa: E402
from kafka.protocol import group as kgroup  # noqa: E402
from kafka.protocol import metadata as kmetadata  # noqa: E402
from kafka.protocol import offset as koffset  # noqa: E402
from kafka.protocol import produce as kproduce  # noqa: E402
from kafka.protocol.abstract import AbstractType  # noqa: E402
from kafka.protocol.api import Request, Response  # noqa: E402
from kafka.protocol.types import (Array, Boolean, Int8, Int16, Int32,  # noqa: E402
                                  Int64, Schema, String)
from kafka.record.memory_records import MemoryRecordsBuilder  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUDGET_S = 230

PASSWORDS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}

# Kafka's error codes the matrix expects.
NONE = 0
TOPIC_DENIED = 29
GROUP_DENIED = 30
CLUSTER_DENIED = 31
TXN_ID_DENIED = 53
ERROR_NAMES = {0: "NONE", 3: "UNKNOWN_TOPIC_OR_PARTITION", 14: "COORDINATOR_LOAD_IN_PROGRESS",
               15: "COORDINATOR_NOT_AVAILABLE", 16: "NOT_COORDINATOR", 22: "ILLEGAL_GENERATION",
               25: "UNKNOWN_MEMBER_ID", 27: "REBALANCE_IN_PROGRESS",
               29: "TOPIC_AUTHORIZATION_FAILED", 30: "GROUP_AUTHORIZATION_FAILED",
               31: "CLUSTER_AUTHORIZATION_FAILED", 36: "TOPIC_ALREADY_EXISTS",
               37: "INVALID_PARTITIONS", 40: "INVALID_CONFIG", 42: "INVALID_REQUEST",
               47: "INVALID_PRODUCER_EPOCH", 48: "INVALID_TXN_STATE",
               49: "INVALID_PRODUCER_ID_MAPPING", 51: "CONCURRENT_TRANSACTIONS",
               53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", 58: "SASL_AUTHENTICATION_FAILED",
               69: "GROUP_ID_NOT_FOUND", 79: "MEMBER_ID_REQUIRED", 84: "ELECTION_NOT_NEEDED",
               105: "TRANSACTIONAL_ID_NOT_FOUND"}

# Kafka's ACL enums (AclOperation, ResourceType, PatternType, AclPermissionType).
RT = {"Topic": 2, "Group": 3, "Cluster": 4, "TransactionalId": 5}
OP = {"All": 2, "Read": 3, "Write": 4, "Create": 5, "Delete": 6, "Alter": 7, "Describe": 8,
      "ClusterAction": 9, "DescribeConfigs": 10, "AlterConfigs": 11, "IdempotentWrite": 12}
LITERAL, PREFIXED, ANY_PATTERN = 3, 4, 1
DENY, ALLOW = 2, 3
CLUSTER_NAME = "kafka-cluster"


def err_name(code):
    if isinstance(code, int):
        return f"{code} {ERROR_NAMES.get(code, '?')}"
    return str(code)


class ProbeError(Exception):
    """A probe could not get an answer (transport failure, unexpected shape)."""


# ---------------------------------------------------------------------------
# Kafka protocol: compact (flexible-version) types kafka-python 2.0.2 lacks,
# and the schemas of the APIs it has no class for.


def _write_uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_uvarint(data):
    shift = result = 0
    while True:
        raw = data.read(1)
        if not raw:
            raise ProbeError("truncated varint")
        b = raw[0]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result
        shift += 7


class CompactString(AbstractType):
    @classmethod
    def encode(cls, value):
        if value is None:
            return _write_uvarint(0)
        raw = value.encode()
        return _write_uvarint(len(raw) + 1) + raw

    @classmethod
    def decode(cls, data):
        n = _read_uvarint(data)
        return None if n == 0 else data.read(n - 1).decode()


class TaggedFields(AbstractType):
    """No tagged fields written; those read are skipped."""

    @classmethod
    def encode(cls, value):
        return _write_uvarint(0)

    @classmethod
    def decode(cls, data):
        for _ in range(_read_uvarint(data)):
            _read_uvarint(data)
            data.read(_read_uvarint(data))
        return None


class CompactArray(Array):
    def encode(self, items):
        if items is None:
            return _write_uvarint(0)
        return _write_uvarint(len(items) + 1) + b"".join(self.array_of.encode(i) for i in items)

    def decode(self, data):
        n = _read_uvarint(data)
        return None if n == 0 else [self.array_of.decode(data) for _ in range(n - 1)]


def _api(key, version, request_fields, response_fields, flexible=False):
    """A (request class, response class) pair for one API version."""
    resp = type(f"Response{key}v{version}", (Response,),
                {"API_KEY": key, "API_VERSION": version, "SCHEMA": Schema(*response_fields)})
    req = type(f"Request{key}v{version}", (Request,),
               {"API_KEY": key, "API_VERSION": version, "SCHEMA": Schema(*request_fields),
                "RESPONSE_TYPE": resp, "FLEXIBLE": flexible})
    return req


S = String("utf-8")
DeleteRecordsV1 = _api(21, 1, [
    ("topics", Array(("name", S), ("partitions", Array(("partition", Int32), ("offset", Int64))))),
    ("timeout_ms", Int32)], [
    ("throttle_time_ms", Int32),
    ("topics", Array(("name", S), ("partitions", Array(
        ("partition", Int32), ("low_watermark", Int64), ("error_code", Int16)))))])
InitProducerIdV0 = _api(22, 0, [("transactional_id", S), ("transaction_timeout_ms", Int32)], [
    ("throttle_time_ms", Int32), ("error_code", Int16), ("producer_id", Int64),
    ("producer_epoch", Int16)])
AddPartitionsToTxnV0 = _api(24, 0, [
    ("transactional_id", S), ("producer_id", Int64), ("producer_epoch", Int16),
    ("topics", Array(("name", S), ("partitions", Array(Int32))))], [
    ("throttle_time_ms", Int32),
    ("results", Array(("name", S), ("results", Array(("partition", Int32),
                                                      ("error_code", Int16)))))])
AddOffsetsToTxnV0 = _api(25, 0, [
    ("transactional_id", S), ("producer_id", Int64), ("producer_epoch", Int16),
    ("group_id", S)], [("throttle_time_ms", Int32), ("error_code", Int16)])
EndTxnV0 = _api(26, 0, [
    ("transactional_id", S), ("producer_id", Int64), ("producer_epoch", Int16),
    ("committed", Boolean)], [("throttle_time_ms", Int32), ("error_code", Int16)])
TxnOffsetCommitV0 = _api(28, 0, [
    ("transactional_id", S), ("group_id", S), ("producer_id", Int64), ("producer_epoch", Int16),
    ("topics", Array(("name", S), ("partitions", Array(
        ("partition", Int32), ("committed_offset", Int64), ("committed_metadata", S)))))], [
    ("throttle_time_ms", Int32),
    ("topics", Array(("name", S), ("partitions", Array(("partition", Int32),
                                                        ("error_code", Int16)))))])
ElectLeadersV1 = _api(43, 1, [
    ("election_type", Int8),
    ("topic_partitions", Array(("topic", S), ("partitions", Array(Int32)))),
    ("timeout_ms", Int32)], [
    ("throttle_time_ms", Int32), ("error_code", Int16),
    ("results", Array(("topic", S), ("partitions", Array(
        ("partition", Int32), ("error_code", Int16), ("error_message", S)))))])
IncrementalAlterConfigsV0 = _api(44, 0, [
    ("resources", Array(("resource_type", Int8), ("resource_name", S), ("configs", Array(
        ("name", S), ("op", Int8), ("value", S))))),
    ("validate_only", Boolean)], [
    ("throttle_time_ms", Int32),
    ("responses", Array(("error_code", Int16), ("error_message", S), ("resource_type", Int8),
                        ("resource_name", S)))])
CS = CompactString
DescribeProducersV0 = _api(61, 0, [
    ("topics", CompactArray(("name", CS), ("partitions", CompactArray(Int32)),
                            ("tags", TaggedFields))),
    ("tags", TaggedFields)], [
    ("throttle_time_ms", Int32),
    ("topics", CompactArray(("name", CS), ("partitions", CompactArray(
        ("partition", Int32), ("error_code", Int16), ("error_message", CS),
        ("producers", CompactArray(("producer_id", Int64), ("producer_epoch", Int32),
                                   ("last_sequence", Int32), ("last_timestamp", Int64),
                                   ("coordinator_epoch", Int32),
                                   ("current_txn_start_offset", Int64), ("tags", TaggedFields))),
        ("tags", TaggedFields))), ("tags", TaggedFields))),
    ("tags", TaggedFields)], flexible=True)
DescribeTransactionsV0 = _api(65, 0, [
    ("transactional_ids", CompactArray(CS)), ("tags", TaggedFields)], [
    ("throttle_time_ms", Int32),
    ("states", CompactArray(
        ("error_code", Int16), ("transactional_id", CS), ("state", CS), ("timeout_ms", Int32),
        ("start_time_ms", Int64), ("producer_id", Int64), ("producer_epoch", Int16),
        ("topics", CompactArray(("topic", CS), ("partitions", CompactArray(Int32)),
                                ("tags", TaggedFields))),
        ("tags", TaggedFields))),
    ("tags", TaggedFields)], flexible=True)
ListTransactionsV0 = _api(66, 0, [
    ("state_filters", CompactArray(CS)), ("producer_id_filters", CompactArray(Int64)),
    ("tags", TaggedFields)], [
    ("throttle_time_ms", Int32), ("error_code", Int16),
    ("unknown_state_filters", CompactArray(CS)),
    ("states", CompactArray(("transactional_id", CS), ("producer_id", Int64), ("state", CS),
                            ("tags", TaggedFields))),
    ("tags", TaggedFields)], flexible=True)


def record_batch(value=b"v"):
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    builder.append(int(time.time() * 1000), None, value, [])
    builder.close()
    return bytes(builder.buffer())


def consumer_subscription(topic):
    """ConsumerProtocol subscription v0: [topic], no user data."""
    t = topic.encode()
    return struct.pack(">hih", 0, 1, len(t)) + t + struct.pack(">i", -1)


class KafkaConn:
    """One SASL_PLAINTEXT (PLAIN) connection to the KAFKA listener."""

    def __init__(self, host, port, user, password, timeout_s=15):
        self.user = user
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.settimeout(timeout_s)
        self.correlation = 0
        r = self.send(kadmin.SaslHandShakeRequest_v1(mechanism="PLAIN"))
        if r.error_code != 0:
            raise ProbeError(f"SaslHandshake as {user}: {err_name(r.error_code)} "
                             f"(mechanisms {r.enabled_mechanisms})")
        token = b"\0" + user.encode() + b"\0" + password.encode()
        r = self.send(kadmin.SaslAuthenticateRequest_v0(sasl_auth_bytes=token))
        if r.error_code != 0:
            raise ProbeError(f"SaslAuthenticate as {user}: {err_name(r.error_code)} "
                             f"{r.error_message}")

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, request):
        self.correlation += 1
        flexible = getattr(request, "FLEXIBLE", False)
        client_id = b"acl-matrix"
        header = struct.pack(">hhih", request.API_KEY, request.API_VERSION, self.correlation,
                             len(client_id)) + client_id
        if flexible:
            header += b"\0"  # request header v2: no tagged fields
        body = header + request.encode()
        try:
            self.sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", self._recv(4))[0]
            data = BytesIO(self._recv(size))
        except (OSError, struct.error) as e:
            raise ProbeError(f"{type(request).__name__} as {self.user}: {e}") from e
        (correlation,) = struct.unpack(">i", data.read(4))
        if correlation != self.correlation:
            raise ProbeError(f"correlation id {correlation}, expected {self.correlation}")
        if flexible:
            TaggedFields.decode(data)
        return request.RESPONSE_TYPE.decode(data)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ProbeError("connection closed by the server")
            buf += chunk
        return buf


# ---------------------------------------------------------------------------
# gRPC: protobuf and HTTP/2, just what a unary call needs.


def _pb_varint(n):
    if n < 0:
        n += 1 << 64
    return _write_uvarint(n)


def pb(*fields):
    """A protobuf message from (field number, value) pairs: int/bool ->
    varint, str -> string, bytes -> bytes or an embedded message (pb(...)).
    A repeated field is given once per value; None is skipped."""
    out = bytearray()
    for num, value in fields:
        if value is None:
            continue
        if isinstance(value, (bool, int)):
            out += _write_uvarint(num << 3) + _pb_varint(int(value))
        else:
            raw = value.encode() if isinstance(value, str) else bytes(value)
            out += _write_uvarint((num << 3) | 2) + _write_uvarint(len(raw)) + raw
    return bytes(out)


class Pb:
    """A decoded protobuf message: field number -> list of raw values
    (ints for varints, bytes for length-delimited)."""

    def __init__(self, data):
        self.fields = {}
        buf = BytesIO(data)
        while buf.tell() < len(data):
            key = _read_uvarint(buf)
            num, wire = key >> 3, key & 7
            if wire == 0:
                v = _read_uvarint(buf)
                if v >= 1 << 63:
                    v -= 1 << 64
            elif wire == 2:
                v = buf.read(_read_uvarint(buf))
            elif wire == 1:
                v = struct.unpack("<q", buf.read(8))[0]
            elif wire == 5:
                v = struct.unpack("<i", buf.read(4))[0]
            else:
                raise ProbeError(f"protobuf wire type {wire}")
            self.fields.setdefault(num, []).append(v)

    def int(self, num):
        return self.fields.get(num, [0])[-1]

    def str(self, num):
        return self.fields.get(num, [b""])[-1].decode()

    def msgs(self, num):
        return [Pb(v) for v in self.fields.get(num, [])]

    def strs(self, num):
        return [v.decode() for v in self.fields.get(num, [])]


def _hpack_literal(name, value):
    """A header field as HPACK's literal without indexing, new name, no Huffman."""
    out = b"\x00"
    for s in (name.encode(), value.encode()):
        n = len(s)
        if n < 127:
            out += bytes([n])
        else:
            out += b"\x7f" + _write_uvarint(n - 127)
        out += s
    return out


class GrpcConn:
    """One TLS connection (with a client certificate) to the gRPC listener,
    for unary calls one at a time. Responses' headers are not decoded (no
    HPACK decoder here): a call answered without a message is reported with
    its trailers' bytes."""

    def __init__(self, host, port, ca, cert, server_name="localhost", timeout_s=15):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(cert)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection((host, port), timeout=timeout_s)
        self.sock = ctx.wrap_socket(raw, server_hostname=server_name)
        self.sock.settimeout(timeout_s)
        self.authority = f"{server_name}:{port}"
        self.next_stream = 1
        self.buf = b""
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + self._frame(4, 0, 0, b""))

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    @staticmethod
    def _frame(ftype, flags, stream, payload):
        return (struct.pack(">I", len(payload))[1:] + bytes([ftype, flags])
                + struct.pack(">I", stream) + payload)

    def _read_frame(self):
        while len(self.buf) < 9:
            self._fill()
        length = int.from_bytes(self.buf[:3], "big")
        while len(self.buf) < 9 + length:
            self._fill()
        ftype, flags = self.buf[3], self.buf[4]
        stream = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
        payload = self.buf[9:9 + length]
        self.buf = self.buf[9 + length:]
        return ftype, flags, stream, payload

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ProbeError("gRPC connection closed by the server")
        self.buf += chunk

    def call(self, service, method, request):
        sid = self.next_stream
        self.next_stream += 2
        headers = b"".join(_hpack_literal(n, v) for n, v in [
            (":method", "POST"), (":scheme", "https"), (":path", f"/strata.v1.{service}/{method}"),
            (":authority", self.authority), ("content-type", "application/grpc"),
            ("te", "trailers"), ("user-agent", "acl-matrix")])
        message = b"\0" + struct.pack(">I", len(request)) + request
        try:
            self.sock.sendall(self._frame(1, 0x4, sid, headers)
                              + self._frame(0, 0x1, sid, message))
            data, trailers = b"", b""
            while True:
                ftype, flags, stream, payload = self._read_frame()
                if ftype == 4 and not flags & 1:  # SETTINGS: acknowledge
                    self.sock.sendall(self._frame(4, 1, 0, b""))
                elif ftype == 6 and not flags & 1:  # PING: answer
                    self.sock.sendall(self._frame(6, 1, 0, payload))
                elif ftype == 7:  # GOAWAY
                    raise ProbeError(f"gRPC GOAWAY {payload[4:8].hex()} {payload[8:]!r}")
                elif stream == sid and ftype == 3:  # RST_STREAM
                    raise ProbeError(f"gRPC {service}/{method}: stream reset, code "
                                     f"{struct.unpack('>I', payload)[0]}")
                elif stream == sid and ftype == 0:  # DATA
                    if flags & 0x8:  # padded
                        payload = payload[1:len(payload) - payload[0]]
                    data += payload
                    if payload:
                        self.sock.sendall(self._frame(8, 0, 0, struct.pack(">I", len(payload))))
                    if flags & 1:
                        break
                elif stream == sid and ftype in (1, 9):  # HEADERS, CONTINUATION
                    trailers += payload
                    if flags & 1:
                        break
        except (OSError, ssl.SSLError) as e:
            raise ProbeError(f"gRPC {service}/{method}: {e}") from e
        if len(data) < 5:
            raise ProbeError(f"gRPC {service}/{method}: no response message (a gRPC status; "
                             f"trailers {trailers!r})")
        size = struct.unpack(">I", data[1:5])[0]
        return Pb(data[5:5 + size])


# kafka-python's GroupCoordinatorResponse_v1 lacks throttle_time_ms.
FindCoordinatorV1 = _api(10, 1, [("key", S), ("key_type", Int8)], [
    ("throttle_time_ms", Int32), ("error_code", Int16), ("error_message", S), ("node_id", Int32),
    ("host", S), ("port", Int32)])
OffsetDeleteV0 = _api(47, 0, [
    ("group_id", S), ("topics", Array(("name", S), ("partitions", Array(Int32))))], [
    ("error_code", Int16), ("throttle_time_ms", Int32),
    ("topics", Array(("name", S), ("partitions", Array(("partition", Int32),
                                                        ("error_code", Int16)))))])
OffsetForLeaderEpochV2 = _api(23, 2, [
    ("topics", Array(("topic", S), ("partitions", Array(
        ("partition", Int32), ("current_leader_epoch", Int32), ("leader_epoch", Int32)))))], [
    ("throttle_time_ms", Int32),
    ("topics", Array(("topic", S), ("partitions", Array(
        ("error_code", Int16), ("partition", Int32), ("leader_epoch", Int32),
        ("end_offset", Int64)))))])

CONFIG_TOPIC, CONFIG_BROKER = 2, 4
TXN_TIMEOUT_MS = 60000
SESSION_TIMEOUT_MS = 10000


# ---------------------------------------------------------------------------
# The same calls through each listener. Each method makes one request of
# one API and returns what a check compares: the Kafka error code where the
# resource is refused (the partition's, group's, ... as the API puts it), or
# for a listing whether the name is in it.


class KafkaClient:
    listener = "kafka"

    def __init__(self, host, port, user):
        self.conn = KafkaConn(host, port, user, PASSWORDS[user])

    def close(self):
        self.conn.close()

    def _send(self, request):
        return self.conn.send(request)

    def produce(self, topic):
        r = self._send(kproduce.ProduceRequest_v3(
            transactional_id=None, required_acks=-1, timeout=10000,
            topics=[(topic, [(0, record_batch())])]))
        return r.topics[0][1][0][1]

    def fetch(self, topic):
        r = self._send(kfetch.FetchRequest_v4(
            replica_id=-1, max_wait_time=10, min_bytes=0, max_bytes=1 << 20, isolation_level=0,
            topics=[(topic, [(0, 0, 1 << 20)])]))
        return r.topics[0][1][0][1]

    def list_offsets(self, topic):
        r = self._send(koffset.OffsetRequest_v1(replica_id=-1, topics=[(topic, [(0, -1)])]))
        return r.topics[0][1][0][1]

    def offset_for_leader_epoch(self, topic):
        r = self._send(OffsetForLeaderEpochV2(topics=[(topic, [(0, -1, 0)])]))
        return r.topics[0][1][0][0]

    def metadata(self, topic):
        r = self._send(kmetadata.MetadataRequest_v4(topics=[topic],
                                                    allow_auto_topic_creation=False))
        for error_code, name, _internal, _partitions in r.topics:
            if name == topic:
                return error_code
        raise ProbeError(f"Metadata does not answer for {topic}: {r.topics}")

    def metadata_create(self, topic):
        """Metadata naming a topic that does not exist, auto-creation allowed."""
        r = self._send(kmetadata.MetadataRequest_v4(topics=[topic],
                                                    allow_auto_topic_creation=True))
        for error_code, name, _internal, _partitions in r.topics:
            if name == topic:
                return error_code
        raise ProbeError(f"Metadata does not answer for {topic}: {r.topics}")

    def metadata_lists(self, topic):
        r = self._send(kmetadata.MetadataRequest_v1(topics=None))
        return topic in [t[1] for t in r.topics]

    def offset_commit(self, group, topic):
        r = self._send(kcommit.OffsetCommitRequest_v2(
            consumer_group=group, consumer_group_generation_id=-1, consumer_id="",
            retention_time=-1, topics=[(topic, [(0, 0, "")])]))
        return r.topics[0][1][0][1]

    def offset_fetch(self, group, topic):
        """(the group's error, the partition's error)"""
        r = self._send(kcommit.OffsetFetchRequest_v3(consumer_group=group, topics=[(topic, [0])]))
        part = r.topics[0][1][0][3] if r.topics and r.topics[0][1] else None
        return r.error_code, part

    def offset_delete(self, group, topic):
        r = self._send(OffsetDeleteV0(group_id=group, topics=[(topic, [0])]))
        if r.error_code:
            return r.error_code
        return r.topics[0][1][0][1]

    def find_coordinator(self, key, key_type):
        return self._send(FindCoordinatorV1(key=key, key_type=key_type)).error_code

    def join(self, group, topic):
        """(error, generation, member id)"""
        r = self._send(kgroup.JoinGroupRequest_v1(
            group=group, session_timeout=SESSION_TIMEOUT_MS, rebalance_timeout=SESSION_TIMEOUT_MS,
            member_id="", protocol_type="consumer",
            group_protocols=[("range", consumer_subscription(topic))]))
        return r.error_code, r.generation_id, r.member_id

    def sync(self, group, generation, member):
        r = self._send(kgroup.SyncGroupRequest_v0(group=group, generation_id=generation,
                                                  member_id=member,
                                                  group_assignment=[(member, b"")]))
        return r.error_code

    def heartbeat(self, group, generation, member):
        return self._send(kgroup.HeartbeatRequest_v0(group=group, generation_id=generation,
                                                     member_id=member)).error_code

    def leave(self, group, member):
        return self._send(kgroup.LeaveGroupRequest_v0(group=group, member_id=member)).error_code

    def describe_group(self, group):
        return self._send(kadmin.DescribeGroupsRequest_v0(groups=[group])).groups[0][0]

    def lists_group(self, group):
        r = self._send(kadmin.ListGroupsRequest_v1())
        if r.error_code:
            return f"error {err_name(r.error_code)}"
        return group in [g[0] for g in r.groups]

    def delete_group(self, group):
        return self._send(kadmin.DeleteGroupsRequest_v1(groups_names=[group])).results[0][1]

    def init_producer_id(self, txn):
        """(error, producer id, epoch)"""
        r = self._send(InitProducerIdV0(transactional_id=txn,
                                        transaction_timeout_ms=TXN_TIMEOUT_MS))
        return r.error_code, r.producer_id, r.producer_epoch

    def add_partitions(self, txn, pid, epoch, topic):
        r = self._send(AddPartitionsToTxnV0(transactional_id=txn, producer_id=pid,
                                            producer_epoch=epoch, topics=[(topic, [0])]))
        return r.results[0][1][0][1]

    def add_offsets(self, txn, pid, epoch, group):
        return self._send(AddOffsetsToTxnV0(transactional_id=txn, producer_id=pid,
                                            producer_epoch=epoch, group_id=group)).error_code

    def end_txn(self, txn, pid, epoch, commit=False):
        return self._send(EndTxnV0(transactional_id=txn, producer_id=pid, producer_epoch=epoch,
                                   committed=commit)).error_code

    def txn_offset_commit(self, txn, group, pid, epoch, topic):
        r = self._send(TxnOffsetCommitV0(transactional_id=txn, group_id=group, producer_id=pid,
                                         producer_epoch=epoch,
                                         topics=[(topic, [(0, 0, "")])]))
        return r.topics[0][1][0][1]

    def describe_txn(self, txn):
        return self._send(DescribeTransactionsV0(transactional_ids=[txn], tags=None)).states[0][0]

    def lists_txn(self, txn):
        r = self._send(ListTransactionsV0(state_filters=[], producer_id_filters=[], tags=None))
        if r.error_code:
            return f"error {err_name(r.error_code)}"
        return txn in [s[0] for s in r.states]

    def describe_producers(self, topic):
        r = self._send(DescribeProducersV0(topics=[(topic, [0], None)], tags=None))
        return r.topics[0][1][0][1]

    def create_topic(self, topic, partitions=1):
        r = self._send(kadmin.CreateTopicsRequest_v3(
            create_topic_requests=[(topic, partitions, 1, [], [])], timeout=15000,
            validate_only=False))
        return r.topic_errors[0][1]

    def create_topics(self, topics):
        r = self._send(kadmin.CreateTopicsRequest_v3(
            create_topic_requests=[(t, 1, 1, [], []) for t in topics], timeout=30000,
            validate_only=False))
        return {t[0]: t[1] for t in r.topic_errors}

    def delete_topic(self, topic):
        r = self._send(kadmin.DeleteTopicsRequest_v1(topics=[topic], timeout=15000))
        return r.topic_error_codes[0][1]

    def create_partitions(self, topic, count):
        r = self._send(kadmin.CreatePartitionsRequest_v0(
            topic_partitions=[(topic, (count, None))], timeout=15000, validate_only=False))
        return r.topic_errors[0][1]

    def describe_configs(self, rtype, name):
        r = self._send(kadmin.DescribeConfigsRequest_v1(resources=[(rtype, name, None)],
                                                        include_synonyms=False))
        return r.resources[0][0]

    def alter_configs(self, rtype, name, key, value):
        r = self._send(kadmin.AlterConfigsRequest_v0(resources=[(rtype, name, [(key, value)])],
                                                     validate_only=False))
        return r.resources[0][0]

    def incremental_alter_configs(self, rtype, name, key, value):
        r = self._send(IncrementalAlterConfigsV0(resources=[(rtype, name, [(key, 0, value)])],
                                                 validate_only=False))
        return r.responses[0][0]

    def delete_records(self, topic):
        r = self._send(DeleteRecordsV1(topics=[(topic, [(0, 0)])], timeout_ms=15000))
        return r.topics[0][1][0][2]

    def elect_leaders(self, topic):
        r = self._send(ElectLeadersV1(election_type=0, topic_partitions=[(topic, [0])],
                                      timeout_ms=15000))
        return r.error_code

    def create_acls(self, bindings):
        """bindings: (resource type, name, pattern type, principal, host, operation,
        permission); one error code each."""
        r = self._send(kadmin.CreateAclsRequest_v1(creations=list(bindings)))
        return [c[0] for c in r.creation_responses]

    def describe_acls(self, principal):
        """(error, number of bindings of `principal`)"""
        r = self._send(kadmin.DescribeAclsRequest_v1(
            resource_type=1, resource_name=None, resource_pattern_type_filter=ANY_PATTERN,
            principal=principal, host=None, operation=1, permission_type=1))
        return r.error_code, sum(len(res[3]) for res in r.resources)

    def delete_acls(self, resource_type, name, principal):
        r = self._send(kadmin.DeleteAclsRequest_v1(filters=[(
            resource_type, name, ANY_PATTERN, principal, None, 1, 1)]))
        return r.filter_responses[0][0]


def _first(msgs, what):
    if not msgs:
        raise ProbeError(f"the answer has no {what}")
    return msgs[0]


class GrpcClient:
    listener = "grpc"

    def __init__(self, host, port, ca, cert):
        self.conn = GrpcConn(host, port, ca, cert)

    def close(self):
        self.conn.close()

    def _call(self, service, method, *fields):
        return self.conn.call(service, method, pb(*fields))

    def produce(self, topic):
        r = self._call("Broker", "Produce", (1, -1), (2, 10000),
                       (3, pb((1, topic), (2, pb((1, 0), (2, record_batch()))))))
        topic_r = _first(r.msgs(1), "topic")
        return _first(topic_r.msgs(2), "partition").int(2)

    def fetch(self, topic):
        r = self._call("Broker", "Fetch", (1, -1), (2, 10), (3, 0), (4, 1 << 20),
                       (5, pb((1, topic), (2, pb((1, 0), (2, 0), (3, 1 << 20))))))
        return _first(_first(r.msgs(1), "topic").msgs(2), "partition").int(2)

    def list_offsets(self, topic):
        r = self._call("Broker", "ListOffsets",
                       (1, pb((1, topic), (2, pb((1, 0), (2, -1))))))
        return _first(_first(r.msgs(1), "topic").msgs(2), "partition").int(2)

    def metadata(self, topic):
        r = self._call("Broker", "Metadata", (1, topic))
        for t in r.msgs(4):
            if t.str(1) == topic:
                return t.int(3)
        raise ProbeError(f"Metadata does not answer for {topic}")

    def metadata_create(self, topic):
        r = self._call("Broker", "Metadata", (1, topic), (2, True))
        for t in r.msgs(4):
            if t.str(1) == topic:
                return t.int(3)
        raise ProbeError(f"Metadata does not answer for {topic}")

    def metadata_lists(self, topic):
        r = self._call("Broker", "Metadata")
        return topic in [t.str(1) for t in r.msgs(4)]

    def list_topics_lists(self, topic):
        return topic in self._call("Admin", "ListTopics").strs(1)

    def describe_topic(self, topic):
        r = self._call("Admin", "DescribeTopics", (1, topic))
        return _first(r.msgs(1), "topic").int(3)

    def offset_commit(self, group, topic):
        r = self._call("Group", "OffsetCommit", (1, group), (2, -1), (3, ""),
                       (5, pb((1, topic), (2, pb((1, 0), (2, 0), (3, -1))))))
        return _first(_first(r.msgs(1), "topic").msgs(2), "partition").int(2)

    def offset_fetch(self, group, topic):
        r = self._call("Group", "OffsetFetch", (1, group), (2, pb((1, topic), (2, 0))))
        part = None
        if r.msgs(3) and r.msgs(3)[0].msgs(2):
            part = r.msgs(3)[0].msgs(2)[0].int(5)
        return r.int(1), part

    def offset_delete(self, group, topic):
        r = self._call("Group", "OffsetDelete", (1, group), (2, pb((1, topic), (2, 0))))
        if r.int(1):
            return r.int(1)
        return _first(_first(r.msgs(3), "topic").msgs(2), "partition").int(2)

    def find_coordinator(self, key, key_type):
        r = self._call("Group", "FindCoordinator", (1, key_type), (2, key))
        return _first(r.msgs(1), "coordinator").int(5)

    def join(self, group, topic):
        member = ""
        for _ in range(2):  # the first join of a member: MEMBER_ID_REQUIRED (KIP-394)
            r = self._call("Group", "JoinGroup", (1, group), (2, SESSION_TIMEOUT_MS),
                           (3, SESSION_TIMEOUT_MS), (4, member), (6, "consumer"),
                           (7, pb((1, "range"), (2, consumer_subscription(topic)))),
                           (9, "acl-matrix"))
            if r.int(1) != 79:
                break
            member = r.str(8)
        return r.int(1), r.int(3), r.str(8)

    def sync(self, group, generation, member):
        r = self._call("Group", "SyncGroup", (1, group), (2, generation), (3, member),
                       (5, "consumer"), (6, "range"), (7, pb((1, member), (2, b""))))
        return r.int(1)

    def heartbeat(self, group, generation, member):
        return self._call("Group", "Heartbeat", (1, group), (2, generation), (3, member)).int(1)

    def leave(self, group, member):
        r = self._call("Group", "LeaveGroup", (1, group), (2, pb((1, member))))
        if r.int(1) or not r.msgs(3):
            return r.int(1)
        return r.msgs(3)[0].int(3)

    def describe_group(self, group):
        return _first(self._call("Group", "DescribeGroups", (1, group)).msgs(1), "group").int(1)

    def lists_group(self, group):
        r = self._call("Group", "ListGroups")
        if r.int(1):
            return f"error {err_name(r.int(1))}"
        return group in [g.str(1) for g in r.msgs(3)]

    def delete_group(self, group):
        return _first(self._call("Group", "DeleteGroups", (1, group)).msgs(1), "result").int(2)

    def init_producer_id(self, txn):
        r = self._call("Broker", "InitProducerId", (1, txn), (2, TXN_TIMEOUT_MS), (3, -1), (4, -1))
        return r.int(1), r.int(3), r.int(4)

    def add_partitions(self, txn, pid, epoch, topic):
        r = self._call("Transaction", "AddPartitionsToTxn", (1, txn), (2, pid), (3, epoch),
                       (4, pb((1, topic), (2, 0))))
        return _first(r.msgs(1), "result").int(3)

    def add_offsets(self, txn, pid, epoch, group):
        return self._call("Transaction", "AddOffsetsToTxn", (1, txn), (2, pid), (3, epoch),
                          (4, group)).int(1)

    def end_txn(self, txn, pid, epoch, commit=False):
        return self._call("Transaction", "EndTxn", (1, txn), (2, pid), (3, epoch),
                          (4, commit)).int(1)

    def txn_offset_commit(self, txn, group, pid, epoch, topic):
        r = self._call("Transaction", "TxnOffsetCommit", (1, txn), (2, group), (3, pid),
                       (4, epoch), (5, -1),
                       (8, pb((1, topic), (2, pb((1, 0), (2, 0), (3, -1))))))
        return _first(_first(r.msgs(1), "topic").msgs(2), "partition").int(2)

    def describe_txn(self, txn):
        r = self._call("Transaction", "DescribeTransactions", (1, txn))
        return _first(r.msgs(1), "transaction").int(2)

    def lists_txn(self, txn):
        r = self._call("Transaction", "ListTransactions")
        if r.int(1):
            return f"error {err_name(r.int(1))}"
        return txn in [t.str(1) for t in r.msgs(4)]

    def describe_producers(self, topic):
        r = self._call("Transaction", "DescribeProducers", (1, pb((1, topic), (2, 0))))
        return _first(r.msgs(1), "partition").int(3)

    def create_topic(self, topic, partitions=1):
        r = self._call("Admin", "CreateTopics", (1, pb((1, topic), (2, partitions), (3, 1))),
                       (2, 15000))
        return _first(r.msgs(1), "result").int(2)

    def delete_topic(self, topic):
        r = self._call("Admin", "DeleteTopics", (1, topic), (2, 15000))
        return _first(r.msgs(1), "result").int(2)

    def create_partitions(self, topic, count):
        r = self._call("Admin", "CreatePartitions", (1, pb((1, topic), (2, count))), (2, 15000))
        return _first(r.msgs(1), "result").int(2)

    def describe_configs(self, rtype, name):
        r = self._call("Admin", "DescribeConfigs", (1, pb((1, rtype), (2, name))))
        return _first(r.msgs(1), "result").int(3)

    def alter_configs(self, rtype, name, key, value):
        r = self._call("Admin", "AlterConfigs",
                       (1, pb((1, rtype), (2, name), (3, pb((1, key), (2, value))))))
        if r.int(1):
            return r.int(1)
        return _first(r.msgs(3), "resource").int(3)

    def incremental_alter_configs(self, rtype, name, key, value):
        r = self._call("Admin", "IncrementalAlterConfigs",
                       (1, pb((1, rtype), (2, name), (3, pb((1, key), (2, 0), (3, value))))))
        if r.int(1):
            return r.int(1)
        return _first(r.msgs(3), "resource").int(3)

    def delete_records(self, topic):
        r = self._call("Broker", "DeleteRecords", (1, pb((1, topic), (2, pb((1, 0), (2, 0))))),
                       (2, 15000))
        return _first(_first(r.msgs(1), "topic").msgs(2), "partition").int(2)

    def elect_leaders(self, topic):
        r = self._call("Admin", "ElectLeaders", (1, 0), (2, pb((1, topic), (2, 0))), (3, 15000))
        return r.int(1)

    @staticmethod
    def _binding(b):
        rtype, name, pattern, principal, host, op, perm = b
        return pb((1, rtype), (2, name), (3, pattern), (4, principal), (5, host), (6, op),
                  (7, perm))

    def create_acls(self, bindings):
        bindings = list(bindings)
        r = self._call("Admin", "CreateAcls", *[(1, self._binding(b)) for b in bindings])
        if r.int(1):
            return [r.int(1)] * len(bindings)
        return [res.int(1) for res in r.msgs(3)]

    def describe_acls(self, principal):
        r = self._call("Admin", "DescribeAcls",
                       (1, pb((1, 1), (3, ANY_PATTERN), (4, principal), (6, 1), (7, 1))))
        return r.int(1), sum(len(res.msgs(4)) for res in r.msgs(3))

    def delete_acls(self, resource_type, name, principal):
        r = self._call("Admin", "DeleteAcls",
                       (1, pb((1, resource_type), (2, name), (3, ANY_PATTERN), (4, principal),
                              (6, 1), (7, 1))))
        if r.int(1):
            return r.int(1)
        return _first(r.msgs(3), "filter result").int(1)


# ---------------------------------------------------------------------------
# The probes: one API call as the row's principal, after whatever setup the
# call needs done as admin (ctx), returning what the check compares.

# alice may Read and Write "base-*" topics, Read (and, for OffsetDelete,
# Delete) "base-*" groups, and Write "base-*" transactional ids (BASE_ACLS).
BASE_TOPIC = "base-topic"
BASE_GROUP = "base-group"
BASE_TXN = "base-txn-"
CLUSTER_GROUP = "cluster-listed-group"  # a group bob has no ACL for


class Ctx:
    """What probes share: the admin's Kafka connection for setup."""

    def __init__(self, admin):
        self.admin = admin

    def commit(self, group, topic):
        """Makes `group` exist, with an offset for `topic` (as admin)."""
        code = transient_retry(lambda: self.admin.offset_commit(group, topic))
        if code != NONE:
            raise ProbeError(f"setup: admin's OffsetCommit {group}/{topic}: {err_name(code)}")

    def init_txn(self, txn):
        """A producer id and epoch for `txn` (as admin)."""
        result = [None]

        def attempt():
            result[0] = self.admin.init_producer_id(txn)
            return result[0][0]
        code = transient_retry(attempt)
        if code != NONE:
            raise ProbeError(f"setup: admin's InitProducerId {txn}: {err_name(code)}")
        return result[0][1], result[0][2]

    def admin_step(self, what, fn):
        code = transient_retry(fn)
        if code != NONE:
            raise ProbeError(f"setup: admin's {what}: {err_name(code)}")

    def abort(self, txn, pid, epoch):
        with contextlib.suppress(ProbeError):
            self.admin.end_txn(txn, pid, epoch, False)


TRANSIENT = {14, 15, 16, 27, 51}  # coordinator loading/moving, rebalance, concurrent txns


def transient_retry(fn, timeout_s=8):
    """fn() again while it answers a transient error (never an authorization
    error or success), bounded."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value not in TRANSIENT or time.monotonic() >= deadline:
            return value
        time.sleep(0.1)


def p_group_join(c, group, ctx):
    code, _gen, member = c.join(group, BASE_TOPIC)
    if code == NONE:
        c.leave(group, member)
    return code


def _joined(c, group):
    """(generation, member) of a join that succeeded, else a made-up member."""
    code, gen, member = c.join(group, BASE_TOPIC)
    return (gen, member, True) if code == NONE else (1, "not-a-member", False)


def p_group_sync(c, group, ctx):
    gen, member, joined = _joined(c, group)
    code = c.sync(group, gen, member)
    if joined:
        c.leave(group, member)
    return code


def p_group_heartbeat(c, group, ctx):
    gen, member, joined = _joined(c, group)
    if joined:
        c.sync(group, gen, member)
    code = c.heartbeat(group, gen, member)
    if joined:
        c.leave(group, member)
    return code


def p_group_leave(c, group, ctx):
    gen, member, joined = _joined(c, group)
    if joined:
        c.sync(group, gen, member)
    return c.leave(group, member)


def p_offset_fetch_group(c, group, ctx):
    top, part = c.offset_fetch(group, BASE_TOPIC)
    return top if top != NONE or part is None else part


def p_offset_fetch_topic(c, topic, ctx):
    top, part = c.offset_fetch(BASE_GROUP, topic)
    return top if top != NONE else part


def p_offset_delete_group(c, group, ctx):
    ctx.commit(group, BASE_TOPIC)
    return c.offset_delete(group, BASE_TOPIC)


def p_offset_delete_topic(c, topic, ctx):
    ctx.commit(BASE_GROUP, topic)
    return c.offset_delete(BASE_GROUP, topic)


def p_lists_group(c, group, ctx):
    ctx.commit(group, BASE_TOPIC)
    return c.lists_group(group)


def p_delete_group(c, group, ctx):
    ctx.commit(group, BASE_TOPIC)
    return c.delete_group(group)


def _in_txn(txn, ctx, call, admin_first=None):
    """call(pid, epoch) inside a transaction admin started for `txn`
    (admin_first(pid, epoch): admin's own step before it); aborted after."""
    pid, epoch = ctx.init_txn(txn)
    try:
        if admin_first is not None:
            admin_first(pid, epoch)
        return call(pid, epoch)
    finally:
        ctx.abort(txn, pid, epoch)


def p_add_partitions_txn(c, txn, ctx):
    return _in_txn(txn, ctx, lambda pid, e: c.add_partitions(txn, pid, e, BASE_TOPIC))


def p_add_partitions_topic(c, topic, ctx):
    txn = BASE_TXN + topic
    return _in_txn(txn, ctx, lambda pid, e: c.add_partitions(txn, pid, e, topic))


def p_add_offsets_txn(c, txn, ctx):
    return _in_txn(txn, ctx, lambda pid, e: c.add_offsets(txn, pid, e, BASE_GROUP))


def p_add_offsets_group(c, group, ctx):
    txn = BASE_TXN + group
    return _in_txn(txn, ctx, lambda pid, e: c.add_offsets(txn, pid, e, group))


def p_end_txn(c, txn, ctx):
    def admin_adds(pid, e):
        ctx.admin_step(f"AddPartitionsToTxn {txn}",
                       lambda: ctx.admin.add_partitions(txn, pid, e, BASE_TOPIC))
    return _in_txn(txn, ctx, lambda pid, e: c.end_txn(txn, pid, e, False), admin_adds)


def _txn_offset_commit(c, txn, group, topic, ctx):
    def admin_adds(pid, e):
        ctx.admin_step(f"AddOffsetsToTxn {txn}", lambda: ctx.admin.add_offsets(txn, pid, e, group))
    return _in_txn(txn, ctx, lambda pid, e: c.txn_offset_commit(txn, group, pid, e, topic),
                   admin_adds)


def p_txn_offset_commit_txn(c, txn, ctx):
    return _txn_offset_commit(c, txn, BASE_GROUP, BASE_TOPIC, ctx)


def p_txn_offset_commit_group(c, group, ctx):
    return _txn_offset_commit(c, BASE_TXN + group, group, BASE_TOPIC, ctx)


def p_txn_offset_commit_topic(c, topic, ctx):
    return _txn_offset_commit(c, BASE_TXN + topic, BASE_GROUP, topic, ctx)


def p_describe_txn(c, txn, ctx):
    ctx.init_txn(txn)
    return c.describe_txn(txn)


def p_lists_txn(c, txn, ctx):
    ctx.init_txn(txn)
    return c.lists_txn(txn)


def p_metadata_autocreate(c, topic, ctx):
    code = c.metadata_create(topic)
    # Kafka answers a topic it has just created LEADER_NOT_AVAILABLE.
    return NONE if code == 5 else code


def p_create_acl(c, name, ctx):
    return c.create_acls([(RT["Topic"], "nobody-" + name, LITERAL, "User:nobody", "*",
                           OP["Read"], ALLOW)])[0]


# ---------------------------------------------------------------------------
# The matrix.


class Row:
    """One API against one resource type: `op` is the operation the API
    checks on it; probe(client, resource name, ctx) -> the value compared with
    `denied` (an error code, or False for a listing) and `allowed` (0, or True).
    implied_by: check `op` through this other operation instead (IMPLIED
    rows). per_listener: each listener gets its own names (the call changes
    its resource for good: CreateTopics, DeleteTopics, CreatePartitions)."""

    def __init__(self, api, rtype, op, probe, denied, allowed=NONE, *, principal="alice",
                 listeners=("kafka", "grpc"), per_listener=False, topic_exists=None,
                 implied_by=None, deny_implying=False):
        self.api, self.rtype, self.op, self.probe = api, rtype, op, probe
        self.denied, self.allowed = denied, allowed
        self.principal, self.listeners, self.per_listener = principal, listeners, per_listener
        # Whether the probe needs the resource (a topic) created up front.
        self.topic_exists = rtype == "Topic" if topic_exists is None else topic_exists
        self.implied_by, self.deny_implying = implied_by, deny_implying
        base = re.sub(r"[^a-z0-9]+", "", api.lower()) + "-" + rtype.lower()
        self.slug = base + (f"-via-{implied_by.lower()}" if implied_by else "")

    @property
    def label(self):
        return f"{self.api:<31} {self.rtype + '/' + self.op:<26}"

    def name(self, listener, check):
        """The resource this row's `check` uses on `listener`."""
        lt = f"-{listener[0]}" if self.per_listener else ""
        if check in ("d", "e"):
            return f"{self.prefix(listener)}{check}"
        return f"{self.slug}{lt}-{check}"

    def prefix(self, listener):
        lt = f"-{listener[0]}" if self.per_listener else ""
        return f"{self.slug}{lt}-p-"

    def checks(self):
        """[(check id, description, expect allowed?)]"""
        if self.implied_by:
            out = [("i1", f"allowed-implied-by-{self.implied_by}", True),
                   ("i2", f"deny-{self.op}-wins-over-{self.implied_by}", False)]
            if self.deny_implying:
                out.append(("i3", f"deny-{self.implied_by}-does-not-deny-{self.op}", True))
            return out
        if self.rtype == "Cluster":
            return [("a", "denied-without-acl", False), ("b", "allowed-with-acl", True),
                    ("c", "deny-wins", False)]
        return [("a", "denied-without-acl", False), ("b", "allowed-with-acl", True),
                ("c", "deny-wins", False), ("d", "allowed-prefixed", True),
                ("e", "deny-wins-prefixed", False)]

    def acls(self):
        """The bindings of a resource-level or IMPLIED row (all listeners)."""
        p = f"User:{self.principal}"
        rt = RT[self.rtype]
        out = []
        for listener in (self.listeners if self.per_listener else self.listeners[:1]):
            def lit(check, op, perm):
                out.append((rt, self.name(listener, check), LITERAL, p, "*", OP[op], perm))
            if self.implied_by:
                via = self.implied_by
                lit("i1", via, ALLOW)
                lit("i2", via, ALLOW)
                lit("i2", self.op, DENY)
                if self.deny_implying:
                    lit("i3", via, ALLOW)
                    lit("i3", via, DENY)
                continue
            lit("b", self.op, ALLOW)
            lit("c", self.op, ALLOW)
            lit("c", self.op, DENY)
            out.append((rt, self.prefix(listener), PREFIXED, p, "*", OP[self.op], ALLOW))
            lit("e", self.op, DENY)
        return out


T, G, C, X = "Topic", "Group", "Cluster", "TransactionalId"

ROWS = [
    # --- topics
    Row("Produce", T, "Write", lambda c, r, x: c.produce(r), TOPIC_DENIED),
    Row("Fetch", T, "Read", lambda c, r, x: c.fetch(r), TOPIC_DENIED),
    Row("ListOffsets", T, "Describe", lambda c, r, x: c.list_offsets(r), TOPIC_DENIED),
    Row("OffsetForLeaderEpoch", T, "Describe", lambda c, r, x: c.offset_for_leader_epoch(r),
        TOPIC_DENIED, listeners=("kafka",)),
    Row("Metadata", T, "Describe", lambda c, r, x: c.metadata(r), TOPIC_DENIED),
    Row("Metadata(all topics)", T, "Describe", lambda c, r, x: c.metadata_lists(r), False, True),
    Row("ListTopics", T, "Describe", lambda c, r, x: c.list_topics_lists(r), False, True,
        listeners=("grpc",)),
    Row("DescribeTopics", T, "Describe", lambda c, r, x: c.describe_topic(r), TOPIC_DENIED,
        listeners=("grpc",)),
    Row("OffsetCommit", T, "Read", lambda c, r, x: c.offset_commit(BASE_GROUP, r), TOPIC_DENIED),
    Row("OffsetFetch", T, "Describe", p_offset_fetch_topic, TOPIC_DENIED),
    Row("OffsetDelete", T, "Read", p_offset_delete_topic, TOPIC_DENIED),
    Row("AddPartitionsToTxn", T, "Write", p_add_partitions_topic, TOPIC_DENIED),
    Row("TxnOffsetCommit", T, "Read", p_txn_offset_commit_topic, TOPIC_DENIED),
    Row("DescribeProducers", T, "Read", lambda c, r, x: c.describe_producers(r), TOPIC_DENIED),
    Row("CreateTopics", T, "Create", lambda c, r, x: c.create_topic(r), TOPIC_DENIED,
        per_listener=True, topic_exists=False),
    # Describe on these topics is given (BASE_ACLS): only Create differs.
    Row("Metadata(auto-create)", T, "Create", p_metadata_autocreate, TOPIC_DENIED,
        per_listener=True, topic_exists=False),
    Row("DeleteTopics", T, "Delete", lambda c, r, x: c.delete_topic(r), TOPIC_DENIED,
        per_listener=True),
    Row("CreatePartitions", T, "Alter", lambda c, r, x: c.create_partitions(r, 2), TOPIC_DENIED,
        per_listener=True),
    Row("DescribeConfigs", T, "DescribeConfigs",
        lambda c, r, x: c.describe_configs(CONFIG_TOPIC, r), TOPIC_DENIED),
    Row("AlterConfigs", T, "AlterConfigs",
        lambda c, r, x: c.alter_configs(CONFIG_TOPIC, r, "retention.ms", "86400000"),
        TOPIC_DENIED),
    Row("IncrementalAlterConfigs", T, "AlterConfigs",
        lambda c, r, x: c.incremental_alter_configs(CONFIG_TOPIC, r, "retention.ms", "86400000"),
        TOPIC_DENIED),
    Row("DeleteRecords", T, "Delete", lambda c, r, x: c.delete_records(r), TOPIC_DENIED),
    # --- groups
    Row("FindCoordinator", G, "Describe", lambda c, r, x: c.find_coordinator(r, 0), GROUP_DENIED),
    Row("JoinGroup", G, "Read", p_group_join, GROUP_DENIED),
    Row("SyncGroup", G, "Read", p_group_sync, GROUP_DENIED),
    Row("Heartbeat", G, "Read", p_group_heartbeat, GROUP_DENIED),
    Row("LeaveGroup", G, "Read", p_group_leave, GROUP_DENIED),
    Row("OffsetCommit", G, "Read", lambda c, r, x: c.offset_commit(r, BASE_TOPIC), GROUP_DENIED),
    Row("OffsetFetch", G, "Describe", p_offset_fetch_group, GROUP_DENIED),
    Row("OffsetDelete", G, "Delete", p_offset_delete_group, GROUP_DENIED),
    Row("DescribeGroups", G, "Describe", lambda c, r, x: c.describe_group(r), GROUP_DENIED),
    Row("ListGroups", G, "Describe", p_lists_group, False, True),
    Row("DeleteGroups", G, "Delete", p_delete_group, GROUP_DENIED),
    Row("AddOffsetsToTxn", G, "Read", p_add_offsets_group, GROUP_DENIED),
    Row("TxnOffsetCommit", G, "Read", p_txn_offset_commit_group, GROUP_DENIED),
    # --- transactional ids
    Row("FindCoordinator", X, "Describe", lambda c, r, x: c.find_coordinator(r, 1),
        TXN_ID_DENIED),
    Row("InitProducerId", X, "Write", lambda c, r, x: c.init_producer_id(r)[0], TXN_ID_DENIED),
    Row("AddPartitionsToTxn", X, "Write", p_add_partitions_txn, TXN_ID_DENIED),
    Row("AddOffsetsToTxn", X, "Write", p_add_offsets_txn, TXN_ID_DENIED),
    Row("EndTxn", X, "Write", p_end_txn, TXN_ID_DENIED),
    Row("TxnOffsetCommit", X, "Write", p_txn_offset_commit_txn, TXN_ID_DENIED),
    Row("DescribeTransactions", X, "Describe", p_describe_txn, TXN_ID_DENIED),
    Row("ListTransactions", X, "Describe", p_lists_txn, False, True),
    # --- the cluster (bob; no prefixed patterns: one resource, "kafka-cluster")
    Row("InitProducerId(idempotent)", C, "IdempotentWrite",
        lambda c, r, x: c.init_producer_id(None)[0], CLUSTER_DENIED, principal="bob"),
    Row("CreateTopics", C, "Create", lambda c, r, x: c.create_topic(r), TOPIC_DENIED,
        principal="bob", per_listener=True),
    Row("Metadata(auto-create)", C, "Create", p_metadata_autocreate, TOPIC_DENIED,
        principal="bob", per_listener=True),
    Row("DescribeConfigs(broker)", C, "DescribeConfigs",
        lambda c, r, x: c.describe_configs(CONFIG_BROKER, "1"), CLUSTER_DENIED, principal="bob"),
    Row("AlterConfigs(broker)", C, "AlterConfigs",
        lambda c, r, x: c.alter_configs(CONFIG_BROKER, "1", "log.retention.bytes", "-1"),
        CLUSTER_DENIED, principal="bob"),
    Row("IncrementalAlterConfigs(broker)", C, "AlterConfigs",
        lambda c, r, x: c.incremental_alter_configs(CONFIG_BROKER, "1", "log.retention.bytes",
                                                    "-1"),
        CLUSTER_DENIED, principal="bob"),
    Row("ElectLeaders", C, "Alter", lambda c, r, x: c.elect_leaders(BASE_TOPIC), CLUSTER_DENIED,
        principal="bob"),
    Row("CreateAcls", C, "Alter", p_create_acl, CLUSTER_DENIED, principal="bob",
        per_listener=True),
    Row("DescribeAcls", C, "Describe", lambda c, r, x: c.describe_acls("User:nobody")[0],
        CLUSTER_DENIED, principal="bob"),
    Row("DeleteAcls", C, "Alter", lambda c, r, x: c.delete_acls(RT["Topic"], None, "User:nobody"),
        CLUSTER_DENIED, principal="bob"),
    Row("ListGroups", C, "Describe", lambda c, r, x: c.lists_group(CLUSTER_GROUP), False, True,
        principal="bob"),
    # --- implied operations
    Row("Metadata", T, "Describe", lambda c, r, x: c.metadata(r), TOPIC_DENIED,
        implied_by="Read", deny_implying=True),
    Row("Metadata", T, "Describe", lambda c, r, x: c.metadata(r), TOPIC_DENIED,
        implied_by="Write"),
    Row("Metadata", T, "Describe", lambda c, r, x: c.metadata(r), TOPIC_DENIED,
        implied_by="Delete"),
    Row("Metadata", T, "Describe", lambda c, r, x: c.metadata(r), TOPIC_DENIED,
        implied_by="Alter"),
    Row("ListOffsets", T, "Describe", lambda c, r, x: c.list_offsets(r), TOPIC_DENIED,
        implied_by="Read"),
    Row("DescribeConfigs", T, "DescribeConfigs",
        lambda c, r, x: c.describe_configs(CONFIG_TOPIC, r), TOPIC_DENIED,
        implied_by="AlterConfigs"),
    Row("FindCoordinator", G, "Describe", lambda c, r, x: c.find_coordinator(r, 0), GROUP_DENIED,
        implied_by="Read"),
    Row("DescribeGroups", G, "Describe", lambda c, r, x: c.describe_group(r), GROUP_DENIED,
        implied_by="Read", deny_implying=True),
    Row("OffsetFetch", G, "Describe", p_offset_fetch_group, GROUP_DENIED, implied_by="Read"),
    Row("ListGroups", G, "Describe", p_lists_group, False, True, implied_by="Read"),
    Row("FindCoordinator", X, "Describe", lambda c, r, x: c.find_coordinator(r, 1),
        TXN_ID_DENIED, implied_by="Write"),
    Row("DescribeTransactions", X, "Describe", p_describe_txn, TXN_ID_DENIED, implied_by="Write"),
    Row("ListTransactions", X, "Describe", p_lists_txn, False, True, implied_by="Write"),
]

# The idempotent producer's other route (Kafka 3.x): Write on any topic -
# here a PREFIXED ALLOW, then a PREFIXED DENY of the same prefix (a DENY
# only wins over a prefix ALLOW when it covers the whole prefix, as in
# Kafka's authorizeByResourceType).
IDEMPOTENT_TOPIC_PREFIX = "idempotent-"
BASE_ACLS = [
    (RT["Topic"], "base-", PREFIXED, "User:alice", "*", OP["Read"], ALLOW),
    (RT["Topic"], "base-", PREFIXED, "User:alice", "*", OP["Write"], ALLOW),
    (RT["Group"], "base-", PREFIXED, "User:alice", "*", OP["Read"], ALLOW),
    (RT["Group"], "base-", PREFIXED, "User:alice", "*", OP["Delete"], ALLOW),  # OffsetDelete
    (RT["TransactionalId"], "base-", PREFIXED, "User:alice", "*", OP["Write"], ALLOW),
    # Metadata(auto-create) checks Create; Describe is given.
    (RT["Topic"], "metadataautocreate-topic-", PREFIXED, "User:alice", "*", OP["Describe"], ALLOW),
    (RT["Topic"], "metadataautocreate-cluster-", PREFIXED, "User:bob", "*", OP["Describe"],
     ALLOW),
]


# ---------------------------------------------------------------------------
# The node.


class MatrixNode(si.Cluster):
    """One broker,controller node: KAFKA on SASL_PLAINTEXT (PLAIN), the gRPC
    client listener on SSL with client certificates, CONTROLLER plaintext."""

    def __init__(self, build_dir=None):
        super().__init__(build_dir, nodes=1)
        self.certs = None

    def start(self, timeout_s=60):
        self.dir = tempfile.mkdtemp(prefix="strata-acl-matrix-")
        self.certs = os.path.join(self.dir, "certs")
        r = si.run([os.path.join(REPO, "deploy", "secure", "make-certs.sh"), self.certs],
                   timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"make-certs.sh failed: {r.stdout} {r.stderr}")
        self.client_port[1] = si.pick_free_port()
        self.peer_port[1] = si.pick_free_port()
        self.kafka_port[1] = si.pick_free_port()
        users = " ".join(f'user_{u}="{p}"' for u, p in PASSWORDS.items())
        props = [
            "node.id=1",
            "process.roles=broker,controller",
            f"listeners=PLAINTEXT://127.0.0.1:{self.client_port[1]},"
            f"CONTROLLER://127.0.0.1:{self.peer_port[1]},KAFKA://127.0.0.1:{self.kafka_port[1]}",
            "listener.security.protocol.map=PLAINTEXT:SSL,CONTROLLER:PLAINTEXT,"
            "KAFKA:SASL_PLAINTEXT",
            f"controller.quorum.voters=1@127.0.0.1:{self.peer_port[1]}",
            f"log.dirs={self.dir}/node1/logs",
            f"metadata.log.dir={self.dir}/node1/metadata",
            "num.partitions=1",
            "default.replication.factor=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "broker.session.timeout.ms=9000",
            "broker.heartbeat.interval.ms=500",
            # gRPC client listener: TLS, a client certificate required;
            # CN=alice,O=Strata -> User:alice.
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.certs}/node1.pem",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.certs}/ca.pem",
            "ssl.principal.mapping.rules=RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT",
            "listener.name.plaintext.ssl.client.auth=required",
            # Kafka listener: SASL PLAIN with three users.
            "listener.name.kafka.sasl.enabled.mechanisms=PLAIN",
            "listener.name.kafka.plain.sasl.jaas.config="
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="admin" password="{PASSWORDS["admin"]}" {users};',
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users=User:admin",
        ]
        with open(os.path.join(self.dir, "node1.properties"), "w") as f:
            f.write("\n".join(props) + "\n")
        for who in PASSWORDS:
            with open(os.path.join(self.dir, f"{who}.properties"), "w") as f:
                # request.timeout.ms bounds a command the server refuses in a
                # way the client keeps retrying.
                f.write("security.protocol=SSL\n"
                        f"ssl.truststore.location={self.certs}/ca.pem\n"
                        f"ssl.keystore.location={self.certs}/{who}.pem\n"
                        "request.timeout.ms=5000\n")
        self._launch(1)
        if not si.wait_until(self._ready, timeout_s, 0.3):
            raise RuntimeError(f"the node was not ready in {timeout_s} s\n" + self.log_tails())

    def _ready(self):
        if self.procs[1].poll() is not None:
            raise RuntimeError(f"the node exited with {self.procs[1].returncode}\n"
                               + self.log_tails())
        try:
            k = self.kafka("admin")
            try:
                r = k.conn.send(kmetadata.MetadataRequest_v1(topics=[]))
            finally:
                k.close()
            g = self.grpc("admin")
            try:
                brokers = g.conn.call("Admin", "DescribeCluster", b"").msgs(3)
            finally:
                g.close()
            return bool(r.brokers) and bool(brokers)
        except (ProbeError, OSError):
            return False

    def kafka(self, user):
        return KafkaClient("127.0.0.1", self.kafka_port[1], user)

    def grpc(self, user):
        return GrpcClient("127.0.0.1", self.client_port[1], f"{self.certs}/ca.pem",
                          f"{self.certs}/{user}.pem")

    @property
    def grpc_bootstrap(self):
        return f"127.0.0.1:{self.client_port[1]}"

    def cli_as(self, who, args, timeout=30, input=None, config_flag="--command-config"):
        """`strata <command> --bootstrap-server <gRPC> <config_flag> <who>.properties ...`"""
        return si.run([self.cli_path, args[0], "--bootstrap-server", self.grpc_bootstrap,
                       config_flag, os.path.join(self.dir, f"{who}.properties")]
                      + list(args[1:]), timeout=timeout, input=input)


# ---------------------------------------------------------------------------
# Running the matrix.


def fmt(value):
    """An expected or observed value as a check's line shows it."""
    if isinstance(value, bool):
        return "listed" if value else "left out"
    if isinstance(value, int):
        return err_name(value)
    return str(value)


class Matrix:
    def __init__(self, node, checks):
        self.node, self.checks = node, checks
        self.clients = {}
        self.admin = node.kafka("admin")
        self.ctx = Ctx(self.admin)
        self.results = {}  # (row index, listener) -> [(check, ok, got, expected)]
        self.acl_counts = {}

    def client(self, listener, principal):
        key = (listener, principal)
        if key not in self.clients:
            self.clients[key] = (self.node.kafka(principal) if listener == "kafka"
                                 else self.node.grpc(principal))
        return self.clients[key]

    def drop_client(self, listener, principal):
        c = self.clients.pop((listener, principal), None)
        if c is not None:
            c.close()

    def close(self):
        for c in self.clients.values():
            c.close()
        self.admin.close()

    # ACLs, as admin over Kafka's CreateAcls; then waits until DescribeAcls
    # (the same image the authorizer reads) shows them.
    def add_acls(self, what, bindings):
        bindings = sorted(set(bindings))
        codes = []
        for i in range(0, len(bindings), 100):
            codes += self.admin.create_acls(bindings[i:i + 100])
        bad = [(b, fmt(c)) for b, c in zip(bindings, codes) if c != NONE]
        self.checks.check(f"ACLs: {what} ({len(bindings)} bindings) created", not bad, bad[:5])
        for b in bindings:
            self.acl_counts.setdefault(b[3], set()).add(b)
        for principal, want in self.acl_counts.items():
            seen = [0]

            def visible():
                seen[0] = self.admin.describe_acls(principal)[1]
                return seen[0] >= len(want)
            if not si.wait_until(visible, 15, 0.1):
                raise RuntimeError(f"{principal}: {seen[0]} of {len(want)} ACLs visible")

    def run_check(self, index, row, listener, check, desc, expect_allowed, name=None):
        name = name or row.name(listener, check)
        expected = row.allowed if expect_allowed else row.denied
        try:
            c = self.client(listener, row.principal)
            got = transient_retry(lambda: row.probe(c, name, self.ctx))
        except ProbeError as e:
            got = f"no answer: {e}"
            # The connections may be broken: the next checks get new ones.
            self.drop_client(listener, row.principal)
            self.admin.close()
            self.admin = self.ctx.admin = self.node.kafka("admin")
        ok = got == expected
        self.results.setdefault((index, listener), []).append((desc, ok, got, expected))
        self.checks.check(f"{listener:<5}  {row.label} {desc}", ok,
                          f"expected {fmt(expected)}, got {fmt(got)} ({row.principal}, "
                          f"{row.rtype} {name})")

    def setup(self):
        self.ctx.admin_step("FindCoordinator(group)",
                            lambda: self.admin.find_coordinator(BASE_GROUP, 0))
        self.ctx.admin_step("FindCoordinator(transaction)",
                            lambda: self.admin.find_coordinator(BASE_TXN + "warm-up", 1))
        topics = {BASE_TOPIC}
        for row in ROWS:
            if not row.topic_exists:
                continue
            for listener in row.listeners:
                for check, _, _ in row.checks():
                    topics.add(row.name(listener, check))
        t0 = time.monotonic()
        created = self.admin.create_topics(sorted(topics))
        bad = {t: fmt(c) for t, c in created.items() if c != NONE}
        self.checks.check(f"setup: admin creates {len(topics)} topics", not bad, bad)

        # Metadata shows a leader as soon as the image has the topic; the
        # partition answers a little later: wait until each one answers
        # ListOffsets.
        not_yet = [sorted(topics)]

        def answer():
            r = self.admin.conn.send(koffset.OffsetRequest_v1(
                replica_id=-1, topics=[(t, [(0, -1)]) for t in sorted(topics)]))
            not_yet[0] = [t[0] for t in r.topics if any(p[1] != NONE for p in t[1])]
            return len(r.topics) == len(topics) and not not_yet[0]
        self.checks.check("setup: every partition answers ListOffsets",
                          si.wait_until(answer, 40, 0.2), f"not yet: {not_yet[0][:10]}")
        self.checks.note(f"{len(topics)} topics ready in {time.monotonic() - t0:.1f} s")
        self.ctx.commit(CLUSTER_GROUP, BASE_TOPIC)
        self.ctx.commit(BASE_GROUP, BASE_TOPIC)

    def run(self):
        self.setup()
        resource_rows = [(i, r) for i, r in enumerate(ROWS) if r.rtype != "Cluster"]
        cluster_rows = [(i, r) for i, r in enumerate(ROWS) if r.rtype == "Cluster"]
        acls = list(BASE_ACLS)
        for _, row in resource_rows:
            acls += row.acls()
        self.add_acls("alice's, for every resource-level and implied check", acls)
        t0 = time.monotonic()
        for index, row in resource_rows:
            for check, desc, allowed in row.checks():
                for listener in row.listeners:
                    self.run_check(index, row, listener, check, desc, allowed)
        self.checks.note(f"resource-level checks done in {time.monotonic() - t0:.1f} s")

        # The cluster: bob, one step at a time.
        ops = sorted({row.op for _, row in cluster_rows})
        steps = [("a", None), ("b", ALLOW), ("c", DENY)]
        for check, perm in steps:
            if perm is not None:
                self.add_acls(f"bob's {'ALLOW' if perm == ALLOW else 'DENY'} on the cluster",
                              [(RT["Cluster"], CLUSTER_NAME, LITERAL, "User:bob", "*", OP[op],
                                perm) for op in ops])
            for index, row in cluster_rows:
                for c_id, desc, allowed in row.checks():
                    if c_id != check:
                        continue
                    for listener in row.listeners:
                        self.run_check(index, row, listener, check, desc, allowed)
        # The idempotent producer's topic route (its cluster ALLOW is denied now).
        index, idem = next((i, r) for i, r in cluster_rows if r.op == "IdempotentWrite")
        for perm, desc, allowed in [
                (ALLOW, "allowed-via-Write-on-a-topic-prefix", True),
                (DENY, "deny-wins-prefixed (DENY Write on the prefix)", False)]:
            self.add_acls(f"bob's {'ALLOW' if perm == ALLOW else 'DENY'} Write on topics "
                          f"{IDEMPOTENT_TOPIC_PREFIX}*",
                          [(RT["Topic"], IDEMPOTENT_TOPIC_PREFIX, PREFIXED, "User:bob", "*",
                            OP["Write"], perm)])
            for listener in idem.listeners:
                self.run_check(index, idem, listener, "x", desc, allowed, name="-")

    def summary(self):
        """The matrix: one line per row, passed/total per listener."""
        lines = [f"{'API':<36} {'resource/operation':<28} {'kafka':<9} grpc"]
        for i, row in enumerate(ROWS):
            cells = []
            for listener in ("kafka", "grpc"):
                res = self.results.get((i, listener))
                if res is None:
                    cells.append("-" if listener not in row.listeners else "not run")
                    continue
                passed = sum(1 for r in res if r[1])
                cell = f"{passed}/{len(res)}"
                if passed < len(res):
                    cell += " FAIL:" + ",".join(r[0] for r in res if not r[1])
                cells.append(cell)
            what = row.api + (f" (via {row.implied_by})" if row.implied_by else "")
            lines.append(f"{what:<36} {row.rtype + '/' + row.op:<28} {cells[0]:<9} {cells[1]}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# The strata CLI on the gRPC listener: what a user sees.


def output(r):
    return (r.stdout or "") + (r.stderr or "")


def run_cli_checks(node, checks):
    def expect(what, r, ok_exit, text=None):
        """ok_exit: whether the command must succeed (None: either way, as
        Kafka's tool exits 0 there too); text: what it must print (one of)."""
        texts = (text,) if isinstance(text, str) else text
        good = (ok_exit is None or (r.returncode == 0) == ok_exit) and \
            (texts is None or any(t in output(r) for t in texts))
        wanted = {True: "exit 0", False: "a non-zero exit", None: "any exit"}[ok_exit]
        checks.check(f"cli    {what}", good,
                     f"exit {r.returncode}, expected {wanted}"
                     f"{' and ' + ' or '.join(texts) if texts else ''}: {output(r)[-1500:]}")

    def topic_denied(topic):
        return f"Not authorized to access topics: [{topic}]"  # Kafka's message

    def produce(who, topic, value="cli-record"):
        return node.cli_as(who, ["console-producer", "--topic", topic], input=value + "\n",
                           timeout=40, config_flag="--producer.config")

    t0 = time.monotonic()
    expect("console-producer (alice, no ACL): not authorized",
           produce("alice", ROWS[0].name("grpc", "a")), False,
           topic_denied(ROWS[0].name("grpc", "a")))
    expect("console-producer (alice, ALLOW Write)", produce("alice", ROWS[0].name("grpc", "b")),
           True)
    expect("console-producer (alice, Write on base-* by a prefixed ACL)",
           produce("alice", BASE_TOPIC), True)
    r = node.cli_as("alice", ["console-consumer", "--topic", BASE_TOPIC, "--group",
                              "cli-no-acl-group", "--from-beginning", "--max-messages", "1",
                              "--timeout-ms", "5000"], timeout=40, config_flag="--consumer.config")
    expect("console-consumer --group (alice, no ACL on the group): GroupAuthorizationException",
           r, False, ("GroupAuthorizationException", "Not authorized to access group"))
    r = node.cli_as("alice", ["console-consumer", "--topic", BASE_TOPIC, "--group",
                              "base-cli-group", "--from-beginning", "--max-messages", "1",
                              "--timeout-ms", "8000"], timeout=40, config_flag="--consumer.config")
    expect("console-consumer --group (alice, Read on base-* topics and groups)", r, True,
           "cli-record")
    r = node.cli_as("alice", ["topics", "--create", "--topic", "cli-no-acl-topic", "--partitions",
                              "1", "--replication-factor", "1"])
    expect("topics --create (alice, no ACL): TopicAuthorizationException", r, False,
           "TopicAuthorizationException")
    create_row = next(r for r in ROWS if r.api == "CreateTopics" and r.rtype == "Topic")
    r = node.cli_as("alice", ["topics", "--create", "--topic", create_row.prefix("grpc") + "cli",
                              "--partitions", "1", "--replication-factor", "1"])
    expect("topics --create (alice, ALLOW Create on a topic prefix)", r, True)
    r = node.cli_as("alice", ["acls", "--list"])
    expect("acls --list (alice): ClusterAuthorizationException", r, False,
           "ClusterAuthorizationException")
    r = node.cli_as("alice", ["acls", "--add", "--allow-principal", "User:nobody", "--operation",
                              "Read", "--topic", "cli-nobody"])
    expect("acls --add (alice): ClusterAuthorizationException", r, False,
           "ClusterAuthorizationException")
    r = node.cli_as("alice", ["configs", "--describe", "--entity-type", "brokers",
                              "--entity-name", "1"])
    expect("configs --describe brokers (alice): ClusterAuthorizationException", r, False,
           "ClusterAuthorizationException")
    r = node.cli_as("alice", ["consumer-groups", "--describe", "--group",
                              "describegroups-group-a"])
    expect("consumer-groups --describe (alice, no ACL): GroupAuthorizationException", r, False,
           "GroupAuthorizationException")
    r = si.run([node.cli_path, "transactions", "--bootstrap-server", node.grpc_bootstrap,
                "--command-config", os.path.join(node.dir, "alice.properties"), "describe",
                "--transactional-id", "describetransactions-transactionalid-a"], timeout=30)
    expect("transactions describe (alice, no ACL): authorization failure", r, False,
           ("TransactionalIdAuthorizationException", "failed due to authorization failure"))
    offsets = os.path.join(node.dir, "delete-records.json")
    with open(offsets, "w") as f:
        f.write('{"partitions": [{"topic": "deleterecords-topic-a", "partition": 0, '
                '"offset": 0}], "version": 1}\n')
    r = node.cli_as("alice", ["delete-records", "--offset-json-file", offsets])
    expect("delete-records (alice, no ACL): TopicAuthorizationException", r, None,
           "TopicAuthorizationException")

    # ACLs managed with the CLI (admin): a prefixed ALLOW, then a DENY on top.
    topic = "cli-prefixed-1"
    r = node.cli_as("admin", ["topics", "--create", "--topic", topic, "--partitions", "1",
                              "--replication-factor", "1"])
    expect("topics --create (admin)", r, True)
    r = node.cli_as("admin", ["acls", "--add", "--allow-principal", "User:alice", "--operation",
                              "Write", "--topic", "cli-prefixed-", "--resource-pattern-type",
                              "prefixed"])
    expect("acls --add --resource-pattern-type prefixed (admin)", r, True)
    r = si.retry("alice writes under the CLI's prefixed ACL", lambda: produce("alice", topic),
                 lambda r: r.returncode == 0, timeout_s=15)
    expect("console-producer (alice, the CLI's prefixed ALLOW)", r, True)
    r = node.cli_as("admin", ["acls", "--add", "--deny-principal", "User:alice", "--operation",
                              "Write", "--topic", topic])
    expect("acls --add --deny-principal (admin)", r, True)
    r = si.retry("the CLI's DENY wins", lambda: produce("alice", topic),
                 lambda r: r.returncode != 0, timeout_s=15)
    expect("console-producer (alice, the CLI's DENY on top): not authorized", r, False,
           topic_denied(topic))
    r = node.cli_as("admin", ["acls", "--list", "--principal", "User:alice", "--topic", topic])
    expect("acls --list (admin) shows the DENY", r, True, "DENY")
    checks.note(f"CLI checks done in {time.monotonic() - t0:.1f} s")


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else None
    checks = si.Checks()
    started = time.monotonic()
    node = MatrixNode(build_dir)
    matrix = None

    def on_alarm(signum, frame):
        raise si.ScenarioTimeout(f"over the budget of {BUDGET_S} s")

    def on_term(signum, frame):
        raise SystemExit(f"signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(BUDGET_S)
    try:
        node.__enter__()
        checks.note(f"node ready in {time.monotonic() - started:.1f} s (kafka SASL_PLAINTEXT "
                    f"127.0.0.1:{node.kafka_port[1]}, grpc SSL {node.grpc_bootstrap})")
        matrix = Matrix(node, checks)
        matrix.run()
        run_cli_checks(node, checks)
        checks.check("the node still runs", node.running(1), node.log_tails())
    except si.ScenarioTimeout as e:
        checks.check("within the time budget", False, str(e))
    except Exception as e:  # noqa: BLE001 - any escape is a failed scenario
        import traceback
        checks.check("scenario ran to its end", False,
                     f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if matrix is not None:
            print("\nThe matrix (checks passed per listener):\n" + matrix.summary() + "\n",
                  flush=True)
            with contextlib.suppress(Exception):
                matrix.close()
        if not checks.ok and node.dir:
            print(node.log_tails(), flush=True)
        node.stop()
    status = "passed" if checks.ok else \
        f"FAILED ({len(checks.failed)} of {len(checks.failed) + checks.passed} checks)"
    print(f"{os.path.basename(sys.argv[0])}: {status} in {time.monotonic() - started:.1f} s",
          flush=True)
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
