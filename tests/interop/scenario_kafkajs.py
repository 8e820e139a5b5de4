#!/usr/bin/python3
"""kafkajs 2.2.4 (Node) against a three-node Strata cluster.

  tests/interop/scenario_kafkajs.py [BUILD_DIR]

Runs `npm ci` in tests/interop/js (package-lock.json pins kafkajs 2.2.4;
--prefer-offline uses npm's cache when it has the package), then
js/kafkajs_scenario.js: producer (gzip, keys, headers, timestamps) and a
one-member group reading it back; a consumer group of 2 that splits a
4-partition topic, commits, and survives one member leaving; admin
createTopics, createPartitions, describeConfigs, alterConfigs,
fetchTopicOffsets, deleteTopicRecords (DeleteRecords), alter- and
listPartitionReassignments, listGroups, describeGroups, fetchOffsets,
deleteGroups and deleteTopics. Its `ok`/`FAIL` lines are this scenario's.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strata_interop as si  # noqa: E402


def run(env, checks):
    js = os.path.join(env.interop_dir, "js")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not checks.check("node and npm installed (deploy/install-deps.sh)", node and npm,
                        f"node={node} npm={npm}"):
        return
    r = si.run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=js, timeout=180)
    if not checks.check("npm ci in tests/interop/js (kafkajs 2.2.4)", r.returncode == 0,
                        f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"):
        return
    env_vars = dict(os.environ, KAFKA_BOOTSTRAP=env.kafka_bootstrap, SUFFIX=env.suffix)
    r = si.run([node, os.path.join(js, "kafkajs_scenario.js")], cwd=js, env=env_vars, timeout=170)
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
