#!/usr/bin/python3
"""The secure cluster of deploy/secure (issue 16, acceptance 1), on its own
ports: TLS on every listener, client certificates on the gRPC listener,
SASL_SSL with SCRAM on the Kafka listener, ACLs on.

  tests/interop/scenario_secure_cluster.py [BUILD_DIR]

  - the certificates come from deploy/secure/make-certs.sh, the node
    properties from deploy/secure/nodeN.properties (ports and paths moved);
  - a plaintext client is refused on both client listeners;
  - a certificate from another CA, and an expired one, are refused;
  - the admin (a super user) creates a topic;
  - alice cannot write it until `acls --add --allow-principal User:alice
    --operation Write --topic T`, and cannot read it without Read;
  - bob, created by the admin as a SCRAM user and granted Read, reads with
    kcat -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-256;
  - a wrong password is refused with an authentication error;
  - the HTTP listener (TLS, client certificates required): the admin reads
    /metrics, alice (no Describe on the cluster) gets 403, a client without
    a certificate or with an untrusted one does not get in.
"""
import os
import re
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECURE = os.path.join(REPO, "deploy", "secure")


class SecureCluster(si.Cluster):
    """deploy/secure's three nodes, moved to free ports and a temp dir."""

    def start(self, timeout_s=60):
        self.dir = tempfile.mkdtemp(prefix="strata-secure-")
        self.certs = os.path.join(self.dir, "certs")
        r = si.run([os.path.join(SECURE, "make-certs.sh"), self.certs], timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"make-certs.sh failed: {r.stdout} {r.stderr}")
        for n in self.nodes:
            self.client_port[n] = si.pick_free_port()
            self.peer_port[n] = si.pick_free_port()
            self.kafka_port[n] = si.pick_free_port()
            self.http_port[n] = si.pick_free_port()
        voters = ",".join(f"{n}@localhost:{self.peer_port[n]}" for n in self.nodes)
        for n in self.nodes:
            with open(os.path.join(SECURE, f"node{n}.properties")) as f:
                text = f.read()
            text = text.replace("deploy/secure/certs", self.certs)
            text = text.replace("data-secure", self.dir)
            text = re.sub(r"localhost:909\d", f"localhost:{self.client_port[n]}", text)
            text = re.sub(r"localhost:2909\d", f"localhost:{self.kafka_port[n]}", text)
            text = re.sub(r"localhost:964\d", f"localhost:{self.http_port[n]}", text)
            text = re.sub(r"^controller\.quorum\.voters=.*$", f"controller.quorum.voters={voters}",
                          text, flags=re.M)
            text = re.sub(r"localhost:1909\d", f"localhost:{self.peer_port[n]}", text)
            text += "\nbroker.session.timeout.ms=9000\nbroker.heartbeat.interval.ms=500\n"
            with open(os.path.join(self.dir, f"node{n}.properties"), "w") as f:
                f.write(text)
        for who in ("admin", "alice", "bob", "expired", "untrusted"):
            self.client_config(who, who)
        self.client_config("plaintext", None)
        for n in self.nodes:
            self._launch(n)
        if not si.wait_until(self._ready, timeout_s, 0.3):
            raise RuntimeError(f"the secure cluster was not ready in {timeout_s} s\n"
                               + self.log_tails())

    def client_config(self, name, cert):
        """<dir>/<name>.properties: TLS with <cert>.pem (None: plaintext)."""
        path = os.path.join(self.dir, f"{name}.properties")
        with open(path, "w") as f:
            if cert is None:
                f.write("security.protocol=PLAINTEXT\n")
            else:
                f.write("security.protocol=SSL\n"
                        f"ssl.truststore.location={self.certs}/ca.pem\n"
                        f"ssl.keystore.location={self.certs}/{cert}.pem\n")
        return path

    @property
    def grpc_bootstrap(self):
        return ",".join(f"localhost:{self.client_port[n]}" for n in self.nodes)

    @property
    def kafka_bootstrap(self):
        return ",".join(f"localhost:{self.kafka_port[n]}" for n in self.nodes)

    def cli_as(self, who, args, timeout=30, input=None):
        # As Kafka's tools: the console tools take --producer.config /
        # --consumer.config, the others --command-config.
        flag = {"console-producer": "--producer.config",
                "console-consumer": "--consumer.config"}.get(args[0], "--command-config")
        return si.run([self.cli_path, args[0], "--bootstrap-server", self.grpc_bootstrap,
                       flag, os.path.join(self.dir, f"{who}.properties")]
                      + list(args[1:]), timeout=timeout, input=input)

    def cli(self, args, timeout=30, input=None):
        return self.cli_as("admin", args, timeout=timeout, input=input)

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
        return r.returncode == 0 and len((r.stdout or "").split()) >= len(self.nodes)


def output(r):
    return (r.stdout or "") + (r.stderr or "")


def kcat(cluster, args, user=None, password=None, mechanism="SCRAM-SHA-256", timeout=30):
    cmd = ["kcat", "-b", cluster.kafka_bootstrap, "-X", "security.protocol=SASL_SSL",
           "-X", f"sasl.mechanisms={mechanism}", "-X", f"ssl.ca.location={cluster.certs}/ca.pem"]
    if user is not None:
        cmd += ["-X", f"sasl.username={user}", "-X", f"sasl.password={password}"]
    return si.run(cmd + args, timeout=timeout)


def produce(cluster, who, topic, lines):
    return cluster.cli_as(who, ["console-producer", "--topic", topic],
                          input="".join(f"{line}\n" for line in lines), timeout=40)


def consume(cluster, who, topic, n, group=None):
    args = ["console-consumer", "--topic", topic, "--from-beginning", "--max-messages", str(n),
            "--timeout-ms", "8000"]
    if group:
        args += ["--group", group]
    return cluster.cli_as(who, args, timeout=40)


def https_status(cluster, who):
    """GET /metrics on node 1's HTTP listener as `who` (a certificate in
    certs/, or None): the status, or the refusal."""
    ctx = ssl.create_default_context(cafile=os.path.join(cluster.certs, "ca.pem"))
    if who is not None:
        ctx.load_cert_chain(os.path.join(cluster.certs, f"{who}.pem"))
    url = f"https://localhost:{cluster.http_port[1]}/metrics"
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, ssl.SSLError, ConnectionError, OSError) as e:
        return f"refused ({e})", ""


def run(cluster, checks):
    topic = "payments"

    checks.note("the HTTP listener: TLS, client certificates, the authorizer")
    status, text = https_status(cluster, "admin")
    checks.check(f"the admin reads /metrics over TLS ({status})",
                 status == 200 and "strata_partitions" in text)
    status, _ = https_status(cluster, "alice")
    checks.check(f"alice, without Describe on the cluster, gets 403 ({status})", status == 403)
    status, _ = https_status(cluster, None)
    checks.check(f"a client without a certificate does not get in ({status})",
                 not isinstance(status, int))
    status, _ = https_status(cluster, "untrusted")
    checks.check(f"an untrusted certificate does not get in ({status})",
                 not isinstance(status, int))

    checks.note("plaintext and untrusted clients are refused")
    r = cluster.cli_as("plaintext", ["topics", "--list"], timeout=20)
    checks.check("a plaintext gRPC client is refused", r.returncode != 0, output(r))
    r = si.run(["kcat", "-b", cluster.kafka_bootstrap, "-L", "-m", "5"], timeout=20)
    checks.check("a plaintext Kafka client is refused",
                 r.returncode != 0 or "broker" not in (r.stdout or ""), output(r))
    for who in ("untrusted", "expired"):
        r = cluster.cli_as(who, ["topics", "--list"], timeout=20)
        checks.check(f"the {who} certificate is refused", r.returncode != 0, output(r))

    checks.note("the admin creates a topic")
    r = cluster.cli(["topics", "--create", "--topic", topic, "--partitions", "1",
                     "--replication-factor", "3"])
    checks.check("the admin creates it", r.returncode == 0, output(r))

    checks.note("alice writes only once an ACL lets her")
    r = produce(cluster, "alice", topic, ["denied-1"])
    checks.check("alice cannot write without an ACL",
                 r.returncode != 0 and "TopicAuthorization" in output(r), output(r))
    r = cluster.cli(["acls", "--add", "--allow-principal", "User:alice", "--operation", "Write",
                     "--topic", topic])
    checks.check("acls --add Write for alice", r.returncode == 0, output(r))
    r = produce(cluster, "alice", topic, ["a-1", "a-2", "a-3"])
    checks.check("alice writes with the Write ACL", r.returncode == 0, output(r))
    r = cluster.cli(["acls", "--add", "--allow-principal", "User:alice", "--operation", "Read",
                     "--group", "alice-group"])
    checks.check("acls --add Read on her group for alice", r.returncode == 0, output(r))
    r = consume(cluster, "alice", topic, 3, group="alice-group")
    checks.check("alice cannot read without Read on the topic",
                 r.returncode != 0 and "a-1" not in (r.stdout or "")
                 and ("TopicAuthorization" in output(r) or "Not authorized to access topics"
                      in output(r)), output(r))
    r = cluster.cli(["acls", "--add", "--allow-principal", "User:alice", "--operation", "Read",
                     "--topic", topic])
    checks.check("acls --add Read for alice", r.returncode == 0, output(r))
    r = consume(cluster, "alice", topic, 3, group="alice-group")
    checks.check("alice reads with the Read ACL", (r.stdout or "").split() == ["a-1", "a-2", "a-3"],
                 output(r))
    r = consume(cluster, "admin", topic, 3)
    checks.check("the records alice wrote are there (admin reads them)",
                 (r.stdout or "").split() == ["a-1", "a-2", "a-3"], output(r))

    checks.note("bob, a SCRAM user, reads with kcat over SASL_SSL")
    r = cluster.cli(["configs", "--entity-type", "users", "--entity-name", "bob", "--alter",
                     "--add-config", "SCRAM-SHA-256=[iterations=8192,password=bob-secret]"])
    checks.check("the admin creates bob's SCRAM credential", r.returncode == 0, output(r))
    for args in (["--operation", "Read", "--topic", topic],
                 ["--operation", "Read", "--group", "bob-group"]):
        r = cluster.cli(["acls", "--add", "--allow-principal", "User:bob"] + args)
        checks.check(f"acls --add {' '.join(args)} for bob", r.returncode == 0, output(r))
    got = []

    def bob_reads():
        r = kcat(cluster, ["-C", "-t", topic, "-o", "beginning", "-e", "-q"], "bob", "bob-secret")
        got[:] = [(r.stdout or "").split(), output(r)]
        return got[0] == ["a-1", "a-2", "a-3"]

    checks.check("kcat reads the three records as bob",
                 si.wait_until(bob_reads, 30, 1.0), str(got))
    r = kcat(cluster, ["-L"], "bob", "not-bobs-password")
    checks.check("a wrong password is refused with an authentication error",
                 "Authentication failed" in output(r) or "SASL authentication error" in output(r),
                 output(r))
    r = kcat(cluster, ["-L"], "nobody", "whatever")
    checks.check("an unknown user is refused the same way",
                 "Authentication failed" in output(r) or "SASL authentication error" in output(r),
                 output(r))


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else None
    checks = si.Checks()
    cluster = SecureCluster(build_dir)
    try:
        cluster.__enter__()
        checks.note(f"secure cluster ready (grpc {cluster.grpc_bootstrap}, "
                    f"kafka {cluster.kafka_bootstrap})")
        run(cluster, checks)
        checks.check("every node still running",
                     all(cluster.running(n) for n in cluster.nodes), cluster.log_tails())
    except Exception as e:  # noqa: BLE001 - any escape is a failed scenario
        import traceback
        checks.check("scenario ran to its end", False,
                     f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    finally:
        if not checks.ok and cluster.dir:
            print(cluster.log_tails(), flush=True)
        cluster.stop()
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
