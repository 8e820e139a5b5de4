#!/usr/bin/python3
"""kafkajs 2.2.4 (Node) against a three-node Strata cluster.

  tests/interop/scenario_kafkajs.py [BUILD_DIR]

Copies js/package.json and js/package-lock.json (which pins kafkajs 2.2.4)
to <build>/tests/interop/kafkajs and runs `npm ci` there (--prefer-offline
uses npm's cache when it has the package): the source tree is never
written. Then js/kafkajs_scenario.js, with NODE_PATH naming that
node_modules: producer (gzip, keys, headers, timestamps) and a
one-member group reading it back; an idempotent producer (idempotent:
true) whose records land once at consecutive offsets; a consumer group of 2 that splits a
4-partition topic, commits, and survives one member leaving; admin
createTopics, createPartitions, describeConfigs, alterConfigs,
fetchTopicOffsets, deleteTopicRecords (DeleteRecords), alter- and
listPartitionReassignments, listGroups, describeGroups, fetchOffsets,
deleteGroups and deleteTopics. Its `ok`/`FAIL` lines are this scenario's.
"""
import fcntl
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402


def npm_ci(npm, js, target):
    """`npm ci` of js/package-lock.json in target (under the build dir),
    skipped when target already holds exactly that lock file's install.
    A lock file serialises runs sharing one build dir."""
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(js, "package-lock.json"), "rb") as f:
            want = f.read()
        installed = os.path.join(target, "node_modules", ".package-lock.json")
        try:
            with open(os.path.join(target, "package-lock.json"), "rb") as f:
                same = f.read() == want and os.path.exists(installed)
        except OSError:
            same = False
        if same:
            return None
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(js, name), os.path.join(target, name))
        return si.run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=target,
                      timeout=180)


def run(env, checks):
    js = os.path.join(env.interop_dir, "js")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not checks.check("node and npm installed (deploy/install-deps.sh)", node and npm,
                        f"node={node} npm={npm}"):
        return
    target = os.path.join(env.build_dir, "tests", "interop", "kafkajs")
    r = npm_ci(npm, js, target)
    if r is None:
        checks.note(f"npm ci skipped: {target} already holds package-lock.json's install")
    elif not checks.check(f"npm ci in {target} (kafkajs 2.2.4)", r.returncode == 0,
                          f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"):
        return
    modules = os.path.join(target, "node_modules")
    version = None
    try:
        with open(os.path.join(modules, "kafkajs", "package.json")) as f:
            version = json.load(f).get("version")
    except (OSError, ValueError):
        pass
    if not checks.check("kafkajs 2.2.4 installed under the build dir", version == "2.2.4",
                        f"{modules}: kafkajs {version}"):
        return
    # The script runs from a copy beside that node_modules, so require()
    # finds the build dir's kafkajs first (and never a stale install in the
    # source tree); NODE_PATH names it as well.
    script = os.path.join(target, "kafkajs_scenario.js")
    shutil.copyfile(os.path.join(js, "kafkajs_scenario.js"), script)
    env_vars = dict(os.environ, KAFKA_BOOTSTRAP=env.kafka_bootstrap, SUFFIX=env.suffix,
                    NODE_PATH=modules)
    r = si.run([node, script], cwd=target, env=env_vars, timeout=170)
    for line in (r.stdout or "").splitlines():
        if line.startswith("ok   "):
            checks.check(line[5:], True)
        elif line.startswith("FAIL "):
            what, _, detail = line[5:].partition(": ")
            checks.check(what, False, detail)
        else:
            print(line)
    checks.check("kafkajs_scenario.js exited 0", r.returncode == 0,
                 f"rc={r.returncode}\n{(r.stderr or '')[-3000:]}")


if __name__ == "__main__":
    sys.exit(si.scenario_main(run, budget_s=240))
