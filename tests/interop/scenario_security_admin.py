#!/usr/bin/python3
"""ACLs, SCRAM credentials and client quotas (issue 16) through Kafka's
protocol, each checked from the other door (the strata CLI over gRPC):

  tests/interop/scenario_security_admin.py [BUILD_DIR]

  - kafkajs 2.2.4 (js/kafkajs_acls.js): createAcls, describeAcls,
    deleteAcls;
  - kafka-python 2.0.2's KafkaAdminClient: create_acls (a literal topic ACL,
    a prefixed group ACL, and one Kafka refuses: a CLUSTER resource not
    named kafka-cluster), describe_acls with literal and MATCH filters,
    delete_acls (the ACLs a filter removed come back); `strata acls --list`
    shows the same, and ACLs `strata acls --add` made are what
    describe_acls finds;
  - AlterUserScramCredentials v0 and DescribeUserScramCredentials v0 (no
    client of this suite sends them: confluent_kafka 1.7 and kafka-python
    2.0.2 have no SCRAM admin calls) built by hand as Kafka's admin client
    sends them (salt and PBKDF2 salted password): a credential stored,
    described over Kafka and by `strata configs --describe --entity-type
    users`, Kafka's errors (UNACCEPTABLE_CREDENTIAL, RESOURCE_NOT_FOUND),
    and deleted;
  - AlterClientQuotas v0/v1 and DescribeClientQuotas v0/v1, by hand: a user's
    and the default client's quotas set, described both ways, an unknown
    key refused, removed.
"""
import hashlib
import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402
from scenario_kafka_probe import (TAGS, Connection, array, boolean, i8, i32,  # noqa: E402
                                  string, uvarint)
from scenario_kafkajs import npm_ci  # noqa: E402

from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,  # noqa: E402
                         ACLResourcePatternType, KafkaAdminClient, ResourcePattern,
                         ResourcePatternFilter, ResourceType)

NONE, INVALID_REQUEST = 0, 42
RESOURCE_NOT_FOUND, UNACCEPTABLE_CREDENTIAL = 91, 93


def f64(v): return struct.pack(">d", v)


def compact_bytes(b): return uvarint(len(b) + 1) + b


# ---------------------------------------------------------------------------
# ACLs with kafka-python.


def acl_key(acl):
    p = acl.resource_pattern
    return (int(p.resource_type), p.resource_name, int(p.pattern_type), acl.principal, acl.host,
            int(acl.operation), int(acl.permission_type))


def acls(env, checks):
    admin = KafkaAdminClient(bootstrap_servers=env.kafka_bootstrap, request_timeout_ms=30000)
    topic, group = env.name("acl-t"), env.name("acl-g")
    try:
        alice = ACL("User:alice", "*", ACLOperation.WRITE, ACLPermissionType.ALLOW,
                    ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))
        bob = ACL("User:bob", "10.0.0.1", ACLOperation.READ, ACLPermissionType.DENY,
                  ResourcePattern(ResourceType.GROUP, group[:-2], ACLResourcePatternType.PREFIXED))
        bad = ACL("User:eve", "*", ACLOperation.ALTER, ACLPermissionType.ALLOW,
                  ResourcePattern(ResourceType.CLUSTER, "not-the-cluster",
                                  ACLResourcePatternType.LITERAL))
        result = admin.create_acls([alice, bob, bad])
        failed = [(acl_key(a), type(e).__name__) for a, e in result["failed"]]
        checks.check("create_acls: two created, the CLUSTER ACL not named kafka-cluster refused",
                     sorted(acl_key(a) for a in result["succeeded"]) ==
                     sorted([acl_key(alice), acl_key(bob)]) and len(failed) == 1
                     and failed[0][0] == acl_key(bad), result)

        listed = si.retry("strata acls --list shows kafka-python's ACLs",
                          lambda: env.cli(["acls", "--list", "--topic", topic]),
                          lambda r: r.returncode == 0 and "User:alice" in r.stdout)
        checks.check("strata acls --list (gRPC) shows the topic ACL with kafka-acls' lines",
                     listed.stdout ==
                     f"Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name={topic}, "
                     "patternType=LITERAL)`: \n \t(principal=User:alice, host=*, operation=WRITE, "
                     "permissionType=ALLOW) \n\n", listed.stdout + listed.stderr)

        found, error = admin.describe_acls(ACLFilter(
            None, None, ACLOperation.ANY, ACLPermissionType.ANY,
            ResourcePatternFilter(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL)))
        checks.check("describe_acls (literal filter) finds the topic ACL",
                     error.errno == 0 and [acl_key(a) for a in found] == [acl_key(alice)],
                     (error, found))
        found, error = admin.describe_acls(ACLFilter(
            None, None, ACLOperation.ANY, ACLPermissionType.ANY,
            ResourcePatternFilter(ResourceType.GROUP, group, ACLResourcePatternType.MATCH)))
        checks.check("describe_acls (MATCH filter) finds the prefixed group ACL",
                     error.errno == 0 and [acl_key(a) for a in found] == [acl_key(bob)],
                     (error, found))

        # An ACL the gRPC door adds is what the Kafka door describes.
        r = env.cli(["acls", "--add", "--allow-principal", "User:carol", "--operation", "Read",
                     "--topic", topic])
        checks.check("strata acls --add (gRPC)", r.returncode == 0, r.stdout + r.stderr)
        found, error = si.retry(
            "describe_acls sees the CLI's ACL",
            lambda: admin.describe_acls(ACLFilter(
                "User:carol", None, ACLOperation.ANY, ACLPermissionType.ANY,
                ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))),
            lambda v: len(v[0]) == 1)
        checks.check("describe_acls (principal filter) finds the ACL strata acls added",
                     error.errno == 0 and len(found) == 1 and found[0].resource_pattern.resource_name
                     == topic and int(found[0].operation) == int(ACLOperation.READ),
                     (error, found))

        deleted = admin.delete_acls([ACLFilter(
            None, None, ACLOperation.ANY, ACLPermissionType.ANY,
            ResourcePatternFilter(ResourceType.TOPIC, topic, ACLResourcePatternType.ANY))])
        (_, matched, error), = deleted
        checks.check("delete_acls answers the two topic ACLs it removed",
                     error.errno == 0 and sorted(acl_key(a) for a, _ in matched) ==
                     sorted([acl_key(alice), (2, topic, 3, "User:carol", "*",
                                              int(ACLOperation.READ),
                                              int(ACLPermissionType.ALLOW))]), deleted)
        r = si.retry("strata acls --list no longer shows them",
                     lambda: env.cli(["acls", "--list", "--topic", topic]),
                     lambda r: r.returncode == 0 and r.stdout == "")
        checks.check("strata acls --list: the topic has no ACL left", r.stdout == "",
                     r.stdout + r.stderr)
        admin.delete_acls([ACLFilter(
            None, None, ACLOperation.ANY, ACLPermissionType.ANY,
            ResourcePatternFilter(ResourceType.GROUP, None, ACLResourcePatternType.ANY))])
    finally:
        admin.close()


def kafkajs_acls(env, checks):
    js = os.path.join(env.interop_dir, "js")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not checks.check("node and npm installed (deploy/install-deps.sh)", node and npm,
                        f"node={node} npm={npm}"):
        return
    target = os.path.join(env.build_dir, "tests", "interop", "kafkajs")
    r = npm_ci(npm, js, target)
    if r is not None and not checks.check(f"npm ci in {target} (kafkajs 2.2.4)",
                                          r.returncode == 0, f"{r.stdout}\n{r.stderr}"):
        return
    modules = os.path.join(target, "node_modules")
    with open(os.path.join(modules, "kafkajs", "package.json")) as f:
        version = json.load(f).get("version")
    if not checks.check("kafkajs 2.2.4 installed under the build dir", version == "2.2.4",
                        version):
        return
    script = os.path.join(target, "kafkajs_acls.js")
    shutil.copyfile(os.path.join(js, "kafkajs_acls.js"), script)
    r = si.run([node, script], cwd=target, timeout=60,
               env=dict(os.environ, KAFKA_BOOTSTRAP=env.kafka_bootstrap, SUFFIX=env.suffix,
                        NODE_PATH=modules))
    for line in (r.stdout or "").splitlines():
        if line.startswith("ok   "):
            checks.check(line[5:], True)
        elif line.startswith("FAIL "):
            what, _, detail = line[5:].partition(": ")
            checks.check(what, False, detail)
    checks.check("kafkajs_acls.js exited 0", r.returncode == 0,
                 f"rc={r.returncode}\n{(r.stderr or '')[-3000:]}")


# ---------------------------------------------------------------------------
# SCRAM credentials, by hand.


def alter_scram(env, deletions, upsertions):
    """deletions [(user, mechanism)], upsertions [(user, mechanism, iterations,
    password)] -> {user: (error, message)}."""
    dels = [string(u, True) + i8(m) + TAGS for u, m in deletions]
    ups = []
    for u, m, iterations, password in upsertions:
        salt = os.urandom(32)
        salted = hashlib.pbkdf2_hmac("sha256" if m == 1 else "sha512", password.encode(), salt,
                                     max(iterations, 1))
        ups.append(string(u, True) + i8(m) + i32(iterations) + compact_bytes(salt) +
                   compact_bytes(salted) + TAGS)
    c = Connection(env.kafka_bootstrap.split(",")[0])
    try:
        r = c.request(51, 0, array(dels, True) + array(ups, True) + TAGS, flexible=True)
        r.i32()

        def result():
            user, error, message = r.string(True), r.i16(), r.string(True)
            r.tags()
            return user, (error, message)
        out = dict(r.array(result, True))
        r.tags()
        return out
    finally:
        c.close()


def describe_scram(env, users, node=1):
    """-> (error, {user: (error, [(mechanism, iterations)])})."""
    body = array(None if users is None else [string(u, True) + TAGS for u in users], True) + TAGS
    c = Connection(env.kafka_bootstrap.split(",")[node % 3])
    try:
        r = c.request(50, 0, body, flexible=True)
        r.i32()
        error, _ = r.i16(), r.string(True)

        def info():
            v = (r.i8(), r.i32())
            r.tags()
            return v

        def result():
            user, err, _ = r.string(True), r.i16(), r.string(True)
            infos = r.array(info, True)
            r.tags()
            return user, (err, infos)
        results = dict(r.array(result, True))
        r.tags()
        return error, results
    finally:
        c.close()


def scram(env, checks):
    alice, bob = env.name("alice"), env.name("bob")
    out = alter_scram(env, [], [(alice, 1, 8192, "alice-secret"), (bob, 2, 100, "x")])
    checks.check("AlterUserScramCredentials v0: stored; 100 iterations UNACCEPTABLE_CREDENTIAL",
                 out.get(alice) == (NONE, None) and out.get(bob, (0,))[0] == UNACCEPTABLE_CREDENTIAL,
                 out)
    error, results = si.retry("DescribeUserScramCredentials on another node",
                              lambda: describe_scram(env, [alice, bob], node=2),
                              lambda v: v[1].get(alice, (1,))[0] == NONE)
    checks.check("DescribeUserScramCredentials v0: SCRAM-SHA-256 (1) with 8192 iterations; "
                 "the refused user RESOURCE_NOT_FOUND",
                 error == NONE and results.get(alice) == (NONE, [(1, 8192)])
                 and results.get(bob, (0,))[0] == RESOURCE_NOT_FOUND, (error, results))
    _, everyone = describe_scram(env, None)
    checks.check("DescribeUserScramCredentials v0 with null users lists every user",
                 alice in everyone and bob not in everyone, everyone)
    r = env.cli(["configs", "--describe", "--entity-type", "users", "--entity-name", alice])
    checks.check("strata configs --describe (gRPC) shows the credential",
                 r.returncode == 0 and r.stdout == f"SCRAM credential configs for user-principal "
                 f"'{alice}' are SCRAM-SHA-256=iterations=8192\n", r.stdout + r.stderr)
    out = alter_scram(env, [(alice, 1)], [])
    checks.check("AlterUserScramCredentials v0 deletion", out == {alice: (NONE, None)}, out)
    out = alter_scram(env, [(alice, 1)], [])
    checks.check("deleting it again: RESOURCE_NOT_FOUND", out.get(alice, (0,))[0] ==
                 RESOURCE_NOT_FOUND, out)


# ---------------------------------------------------------------------------
# Client quotas, by hand.


def entity(parts, flexible):
    return array([string(t, flexible) + string(n, flexible) + (TAGS if flexible else b"")
                  for t, n in parts], flexible)


def alter_quotas(env, entries, version=1):
    """entries [(parts, [(key, value or None)])] -> [(error, message)]."""
    flex = version >= 1
    tag = TAGS if flex else b""
    body = array([entity(parts, flex) +
                  array([string(k, flex) + f64(v or 0.0) + boolean(v is None) + tag
                         for k, v in ops], flex) + tag
                  for parts, ops in entries], flex) + boolean(False) + tag
    c = Connection(env.kafka_bootstrap.split(",")[1])
    try:
        r = c.request(49, version, body, flexible=flex)
        r.i32()

        def entry():
            error, message = r.i16(), r.string(flex)

            def part():
                p = (r.string(flex), r.string(flex))
                if flex:
                    r.tags()
                return p
            r.array(part, flex)
            if flex:
                r.tags()
            return error, message
        return r.array(entry, flex)
    finally:
        c.close()


def describe_quotas(env, components, strict, version=1):
    """components [(type, match_type, match)] -> (error, [(parts, {key: value})])."""
    flex = version >= 1
    tag = TAGS if flex else b""
    body = array([string(t, flex) + i8(m) + string(n, flex) + tag for t, m, n in components],
                 flex) + boolean(strict) + tag
    c = Connection(env.kafka_bootstrap.split(",")[2])
    try:
        r = c.request(48, version, body, flexible=flex)
        r.i32()
        error, _ = r.i16(), r.string(flex)

        def part():
            p = (r.string(flex), r.string(flex))
            if flex:
                r.tags()
            return p

        def value():
            v = (r.string(flex), struct.unpack(">d", r.take(8))[0])
            if flex:
                r.tags()
            return v

        def entry():
            parts = r.array(part, flex)
            values = dict(r.array(value, flex))
            if flex:
                r.tags()
            return parts, values
        return error, r.array(entry, flex)
    finally:
        c.close()


def quotas(env, checks):
    user = env.name("quota-user")
    out = alter_quotas(env, [([("user", user)], [("producer_byte_rate", 5242880.0)]),
                             ([("client-id", None)], [("consumer_byte_rate", 2048.0)]),
                             ([("user", user)], [("bogus_rate", 1.0)])])
    checks.check("AlterClientQuotas v1: the user's and the default client's set; the same user "
                 "twice in one request refused both times",
                 [e for e, _ in out] == [INVALID_REQUEST, NONE, INVALID_REQUEST], out)
    out = alter_quotas(env, [([("user", user)], [("producer_byte_rate", 5242880.0),
                                                 ("request_percentage", 25.0)])], version=0)
    checks.check("AlterClientQuotas v0: set", [e for e, _ in out] == [NONE], out)
    out = alter_quotas(env, [([("user", user)], [("bogus_rate", 1.0)])])
    checks.check("an unknown quota key is INVALID_REQUEST",
                 out and out[0][0] == INVALID_REQUEST and "bogus_rate" in (out[0][1] or ""), out)
    for version in (0, 1):
        error, entries = si.retry(
            f"DescribeClientQuotas v{version} on another node",
            lambda: describe_quotas(env, [("user", 0, user)], True, version),
            lambda v: v[1] and len(v[1]) == 1)
        checks.check(f"DescribeClientQuotas v{version} (EXACT, strict): the user's quotas",
                     error == NONE and entries == [([("user", user)],
                                                    {"producer_byte_rate": 5242880.0,
                                                     "request_percentage": 25.0})],
                     (error, entries))
    error, entries = describe_quotas(env, [("client-id", 1, None)], True)
    checks.check("DescribeClientQuotas (DEFAULT client-id)",
                 error == NONE and entries == [([("client-id", None)],
                                                {"consumer_byte_rate": 2048.0})],
                 (error, entries))
    error, entries = describe_quotas(env, [("user", 0, None)], True)
    checks.check("DescribeClientQuotas: EXACT without a match is INVALID_REQUEST, entries null",
                 error == INVALID_REQUEST and entries is None, (error, entries))
    r = si.retry("strata configs --describe shows the quotas",
                 lambda: env.cli(["configs", "--describe", "--entity-type", "users",
                                  "--entity-name", user]),
                 lambda r: r.returncode == 0 and "request_percentage" in r.stdout)
    checks.check("strata configs --describe (gRPC) shows them as kafka-configs does",
                 r.returncode == 0 and r.stdout.startswith(
                     f"Quota configs for user-principal '{user}' are ") and
                 "producer_byte_rate=5242880.0" in r.stdout and "request_percentage=25.0"
                 in r.stdout, r.stdout + r.stderr)
    out = alter_quotas(env, [([("user", user)], [("producer_byte_rate", None),
                                                 ("request_percentage", None)]),
                             ([("client-id", None)], [("consumer_byte_rate", None)])])
    checks.check("AlterClientQuotas removals", [e for e, _ in out] == [NONE, NONE], out)
    left = si.retry("DescribeClientQuotas after the removals",
                    lambda: (describe_quotas(env, [("user", 0, user)], True),
                             describe_quotas(env, [("client-id", 1, None)], True)),
                    lambda v: v == ((NONE, []), (NONE, [])))
    checks.check("no quota left for either entity", left == ((NONE, []), (NONE, [])), left)


def run(env, checks):
    for name, part in [("ACLs with kafka-python", acls), ("ACLs with kafkajs", kafkajs_acls),
                       ("SCRAM credentials", scram), ("client quotas", quotas)]:
        with checks.step(name):
            part(env, checks)


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=150))
