// kafkajs 2.2.4 against a Strata cluster's KAFKA listeners. Run by
// tests/interop/scenario_kafkajs.py, which starts (or is handed) the cluster
// and runs `npm ci` in <build>/tests/interop/kafkajs first (kafkajs is found
// through NODE_PATH, never in the source tree):
//
//   KAFKA_BOOTSTRAP=127.0.0.1:P,... SUFFIX=<unique> NODE_PATH=<dir>/node_modules \
//     node kafkajs_scenario.js
//
// Prints one `ok   <what>` or `FAIL <what>: <detail>` line per check; the
// exit status is 0 only when every check passed.
'use strict';
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = require('kafkajs');

const brokers = process.env.KAFKA_BOOTSTRAP.split(',');
const suffix = process.env.SUFFIX || String(process.pid);
const name = (base) => `${base}-${suffix}`;
const kafka = new Kafka({
  clientId: 'strata-interop-kafkajs',
  brokers,
  logLevel: logLevel.ERROR,
  connectionTimeout: 5000,
  requestTimeout: 20000,
  retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
});

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    let d = typeof detail === 'string' ? detail : JSON.stringify(detail);
    if (d && d.length > 2000) d = d.slice(0, 2000) + '...(cut)';
    console.log(`FAIL ${what}${d ? ': ' + d : ''}`);
  }
  return ok;
}
// A block whose exception is one failed check, not the end of the run.
async function step(what, fn) {
  try {
    await fn();
  } catch (e) {
    const extra = e.partitions ? ' ' + JSON.stringify(e.partitions.map((p) => ({
      partition: p.partition, offset: p.offset,
      error: p.error && `${p.error.type || p.error.name}: ${p.error.message}` }))) : '';
    check(what, false, `${e.name}: ${e.message}${e.type ? ' (' + e.type + ')' : ''}${extra}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(fn, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= deadline) return v;
    await sleep(intervalMs);
  }
}
const sortNum = (a) => [...a].sort((x, y) => x - y);
const pairs = (list) => list.map(([p, o]) => `${p}:${o}`).sort();

async function producerCase(admin) {
  const topic = name('kjs-basic');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 3 }],
                             waitForLeaders: true, timeout: 15000 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const now = Date.now();
  const messages = [];
  for (let i = 0; i < 20; i++) {
    messages.push({ partition: i % 2, key: `key-${i}`, value: `value-${i}`.repeat(i + 1),
                    headers: { h1: `v${i}`, h2: Buffer.from([0, 255]) },
                    timestamp: String(now - 1000 * i) });
  }
  try {
    await step('producer.send gzip acks=-1', async () => {
      const md = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP,
                                       messages });
      check('producer.send gzip acks=-1: both partitions acknowledged from offset 0',
            md.length === 2 && md.every((m) => m.errorCode === 0 && m.baseOffset === '0'), md);
    });
  } finally {
    await producer.disconnect();
  }
  // An idempotent producer (InitProducerId v1, sequenced batches).
  const idemTopic = name('kjs-idempotent');
  await admin.createTopics({ topics: [{ topic: idemTopic, numPartitions: 1,
                                        replicationFactor: 3 }],
                             waitForLeaders: true, timeout: 15000 });
  const idem = kafka.producer({ allowAutoTopicCreation: false, idempotent: true,
                                maxInFlightRequests: 1 });
  await idem.connect();
  try {
    await step('idempotent producer.send', async () => {
      const bases = [];
      for (let round = 0; round < 3; round++) {
        const batch = [];
        for (let i = 0; i < 5; i++) batch.push({ key: `idem-${round}-${i}`, value: 'x' });
        const md = await idem.send({ topic: idemTopic, acks: -1, messages: batch });
        bases.push(md[0] && md[0].errorCode === 0 ? md[0].baseOffset : md);
      }
      check('idempotent producer (idempotent: true): three sends at offsets 0, 5, 10',
            JSON.stringify(bases) === JSON.stringify(['0', '5', '10']), bases);
      const offs = await admin.fetchTopicOffsets(idemTopic);
      check('idempotent producer: log end 15, each record once',
            offs.length === 1 && offs[0].high === '15', offs);
    });
  } finally {
    await idem.disconnect();
  }
  await step('fetchTopicOffsets', async () => {
    const offs = await admin.fetchTopicOffsets(topic);
    check('admin.fetchTopicOffsets: low 0, high 10 on both partitions',
          offs.length === 2 && offs.every((o) => o.low === '0' && o.high === '10'), offs);
  });
  // Read back through a group consumer (one member): every field equal.
  const consumer = kafka.consumer({ groupId: name('kjs-basic'), sessionTimeout: 6000,
                                    heartbeatInterval: 500, rebalanceTimeout: 10000 });
  const got = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => {
      got.push({ partition, message });
    } });
    await waitUntil(() => got.length >= 20, 30000);
  } finally {
    await consumer.disconnect();
  }
  const want = new Map(messages.map((m) => [m.key, m]));
  const bad = got.filter(({ partition, message: m }) => {
    const w = want.get(m.key.toString());
    return !w || partition !== w.partition || m.value.toString() !== w.value ||
      m.timestamp !== w.timestamp || m.headers.h1.toString() !== w.headers.h1 ||
      !m.headers.h2.equals(w.headers.h2);
  }).map(({ partition, message: m }) => [m.key.toString(), partition, m.offset, m.timestamp]);
  check('consumer: 20 records with equal key, value, headers, timestamp',
        got.length === 20 && bad.length === 0, { n: got.length, bad: bad.slice(0, 3) });
}

async function groupCase(admin) {
  const topic = name('kjs-group');
  const groupId = name('kjs-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 3 }],
                             waitForLeaders: true, timeout: 15000 });
  const members = {};
  for (const id of ['c1', 'c2']) {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500,
                               rebalanceTimeout: 10000, maxWaitTimeInMs: 500 });
    const m = { consumer: c, assigned: new Set(), seen: [] };
    c.on(c.events.GROUP_JOIN, (e) => {
      m.assigned = new Set(e.payload.memberAssignment[topic] || []);
    });
    members[id] = m;
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({ eachMessage: async ({ partition, message }) => {
      m.seen.push([partition, Number(message.offset)]);
    } });
  }
  const { c1, c2 } = members;
  const split = () => {
    const a = c1.assigned;
    const b = c2.assigned;
    const union = new Set([...a, ...b]);
    return a.size > 0 && b.size > 0 && a.size + b.size === 4 && union.size === 4;
  };
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produce = (from, to) => {
    const messages = [];
    for (let p = 0; p < 4; p++) for (let i = from; i < to; i++) {
      messages.push({ partition: p, key: `k${p}-${i}`, value: `v${i}` });
    }
    return producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  };
  try {
    if (!check('group of 2: members split 4 partitions', await waitUntil(split, 45000),
               { c1: [...c1.assigned], c2: [...c2.assigned] })) return groupId;
    const a1 = new Set(c1.assigned);
    const a2 = new Set(c2.assigned);
    await produce(0, 5);
    await waitUntil(() => c1.seen.length + c2.seen.length >= 20, 30000);
    const expect05 = [];
    for (let p = 0; p < 4; p++) for (let o = 0; o < 5; o++) expect05.push([p, o]);
    check('group of 2: each reads only its partitions, 20 records once',
          c1.seen.every(([p]) => a1.has(p)) && c2.seen.every(([p]) => a2.has(p)) &&
          JSON.stringify(pairs([...c1.seen, ...c2.seen])) === JSON.stringify(pairs(expect05)),
          { c1: c1.seen, c2: c2.seen });
    await step('describeGroups (live)', async () => {
      const { groups } = await admin.describeGroups([groupId]);
      const g = groups[0];
      check('admin.describeGroups: Stable, consumer, 2 members',
            g.state === 'Stable' && g.protocolType === 'consumer' && g.members.length === 2,
            { state: g.state, protocolType: g.protocolType, members: g.members.length });
    });
    await step('fetchOffsets after the first batch', async () => {
      const ok = await waitUntil(async () => {
        const r = await admin.fetchOffsets({ groupId, topics: [topic] });
        return r[0].partitions.every((p) => p.offset === '5');
      }, 15000, 300);
      const r = await admin.fetchOffsets({ groupId, topics: [topic] });
      check('admin.fetchOffsets: 5 committed on every partition (autoCommit)', ok, r);
    });
    await c2.consumer.disconnect(); // LeaveGroup
    check('after c2 leaves, c1 owns all 4 partitions',
          await waitUntil(() => c1.assigned.size === 4, 30000), [...c1.assigned]);
    const before = c1.seen.length;
    await produce(5, 10);
    await waitUntil(() => c1.seen.length - before >= 20, 30000);
    const after = c1.seen.slice(before);
    const first = {};
    for (const [p, o] of after) if (!(p in first)) first[p] = o;
    check("c1 resumes c2's partitions at the committed offset 5",
          [...a2].every((p) => first[p] === 5), first);
    const expect510 = [];
    for (let p = 0; p < 4; p++) for (let o = 5; o < 10; o++) expect510.push([p, o]);
    check('c1 reads offsets 5-9 of every partition once',
          JSON.stringify(pairs(after)) === JSON.stringify(pairs(expect510)), after);
  } finally {
    await producer.disconnect();
    await c1.consumer.disconnect();
    await c2.consumer.disconnect();
  }
  return groupId;
}

async function adminCase(admin, groupId) {
  const topic = name('kjs-admin');
  await step('createTopics', async () => {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 3,
                 configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
      waitForLeaders: true, timeout: 15000 });
    check('admin.createTopics: created (2 partitions, RF 3, retention.ms)', created === true,
          created);
    const again = await admin.createTopics({ topics: [{ topic, numPartitions: 2 }],
                                             timeout: 15000 });
    check('admin.createTopics of an existing topic: false (TOPIC_ALREADY_EXISTS)',
          again === false, again);
  });
  const partitionsOf = async (t) => {
    const md = await admin.fetchTopicMetadata({ topics: [t] });
    return md.topics[0].partitions;
  };
  await step('createPartitions', async () => {
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }], timeout: 15000 });
    const ok = await waitUntil(async () => (await partitionsOf(topic)).length === 4, 15000);
    check('admin.createPartitions 2 -> 4', ok, (await partitionsOf(topic)).length);
  });
  const describe = async () => {
    const r = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    const res = r.resources[0];
    return { errorCode: res.errorCode,
             entries: Object.fromEntries(res.configEntries.map((e) => [e.configName, e])) };
  };
  await step('describeConfigs', async () => {
    // The answering node may learn of the new topic's config a moment late;
    // the check is on the answer the wait ended with.
    let errorCode = null;
    let entries = {};
    await waitUntil(async () => {
      ({ errorCode, entries } = await describe());
      const e = entries['retention.ms'];
      return errorCode === 0 && e && e.configValue === '3600000';
    }, 10000, 200);
    check('admin.describeConfigs topic: retention.ms=3600000, not default; defaults listed',
          errorCode === 0 && entries['retention.ms'] &&
          entries['retention.ms'].configValue === '3600000' && !entries['retention.ms'].isDefault &&
          entries['cleanup.policy'] !== undefined,
          { errorCode, retention: entries['retention.ms'], names: Object.keys(entries).length });
    const b = await admin.describeConfigs({
      includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }] });
    check('admin.describeConfigs broker 1: broker configs listed',
          b.resources[0].errorCode === 0 && b.resources[0].configEntries.length > 5,
          { errorCode: b.resources[0].errorCode, n: b.resources[0].configEntries.length });
  });
  await step('alterConfigs', async () => {
    await admin.alterConfigs({ validateOnly: false, resources: [{
      type: ConfigResourceTypes.TOPIC, name: topic,
      configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    // The node that answers DescribeConfigs (any node, each time) may learn
    // of the change a little later than the one that made it (as Kafka's
    // brokers): the check is on the answer the wait ended with.
    let entries = {};
    await waitUntil(async () => {
      entries = (await describe()).entries;
      const e = entries['retention.ms'];
      return e && e.configValue === '7200000';
    }, 10000, 200);
    check('admin.alterConfigs: retention.ms=7200000',
          entries['retention.ms'] && entries['retention.ms'].configValue === '7200000',
          entries['retention.ms']);
  });
  await step('deleteTopicRecords', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const messages = [];
    for (let i = 0; i < 10; i++) messages.push({ partition: 0, value: `r${i}` });
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    // kafkajs finds the leaders in its cached metadata, which holds only the
    // topics it targets (fetchTopicOffsets adds one); against Kafka too.
    await admin.fetchTopicOffsets(topic);
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] });
    const offs = await admin.fetchTopicOffsets(topic);
    const p0 = offs.find((o) => o.partition === 0);
    check('admin.deleteTopicRecords (DeleteRecords) below 6: low watermark 6, high 10',
          p0 && p0.low === '6' && p0.high === '10', p0);
  });
  await step('alter/listPartitionReassignments', async () => {
    const rtopic = name('kjs-reassign');
    await admin.createTopics({ topics: [{ topic: rtopic,
      replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true,
      timeout: 15000 });
    // Write some data so the move has something to copy.
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: rtopic, acks: -1,
      messages: Array.from({ length: 50 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    // alterPartitionReassignments resolves with nothing (it throws on an
    // error); what proves it is the listing below and the replicas moving.
    await admin.alterPartitionReassignments({
      topics: [{ topic: rtopic, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }],
      timeout: 15000 });
    const listed = await admin.listPartitionReassignments({
      topics: [{ topic: rtopic, partitions: [0] }], timeout: 15000 });
    // In progress: only this topic's partition 0, adding 3 and removing 1
    // (replicas the union). Already done: nothing listed.
    // (kafkajs 2.2.4 names a listed topic `name`, not `topic`.)
    const entries = (listed.topics || []).flatMap((t) =>
      (t.partitions || []).map((p) => ({ topic: t.name, ...p })));
    const inProgressOk = (p) => p.topic === rtopic && p.partition === 0 &&
      JSON.stringify(sortNum(p.addingReplicas || [])) === '[3]' &&
      JSON.stringify(sortNum(p.removingReplicas || [])) === '[1]' &&
      JSON.stringify(sortNum(p.replicas || [])) === '[1,2,3]';
    check('admin.listPartitionReassignments: the move 1,2 -> 2,3 in progress, or none left',
          Array.isArray(listed.topics) && entries.every(inProgressOk) &&
          listed.topics.every((t) => t.name === rtopic), listed);
    const ok = await waitUntil(async () => {
      const ps = await partitionsOf(rtopic);
      return JSON.stringify(sortNum(ps[0].replicas)) === '[2,3]';
    }, 30000, 300);
    check('admin.alterPartitionReassignments [1,2] -> [2,3]: the move completes, replicas [2,3]',
          ok, await partitionsOf(rtopic));
    const done = await admin.listPartitionReassignments({ timeout: 15000 });
    check('admin.listPartitionReassignments (all): a well-formed answer, none left for the topic',
          Array.isArray(done.topics) && done.topics.every((t) => typeof t.name === 'string') &&
          !done.topics.some((t) => t.name === rtopic), done);
    await admin.deleteTopics({ topics: [rtopic], timeout: 15000 });
  });
  await step('listGroups', async () => {
    const { groups } = await admin.listGroups();
    check('admin.listGroups: the group, protocol type consumer',
          groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'), groups);
  });
  await step('describeGroups (empty)', async () => {
    const { groups } = await admin.describeGroups([groupId]);
    check('admin.describeGroups after every member left: Empty, no members',
          groups[0].state === 'Empty' && groups[0].members.length === 0, groups[0]);
    const r = await admin.fetchOffsets({ groupId, topics: [topic.replace('admin', 'group')] });
    check('admin.fetchOffsets: 10 committed on every partition',
          r[0].partitions.length === 4 && r[0].partitions.every((p) => p.offset === '10'), r);
  });
  await step('deleteGroups', async () => {
    const r = await admin.deleteGroups([groupId]);
    check('admin.deleteGroups: no error', r.length === 1 && r[0].errorCode === 0, r);
    const { groups } = await admin.listGroups();
    check('admin.deleteGroups: gone from listGroups',
          !groups.some((g) => g.groupId === groupId), groups);
  });
  await step('deleteTopics', async () => {
    await admin.deleteTopics({ topics: [topic], timeout: 15000 });
    const ok = await waitUntil(async () => !(await admin.listTopics()).includes(topic), 15000);
    check('admin.deleteTopics: gone from listTopics', ok);
  });
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await step('producer and consumer', () => producerCase(admin));
    let groupId = null;
    await step('consumer group of 2', async () => { groupId = await groupCase(admin); });
    await adminCase(admin, groupId || name('kjs-group'));
  } finally {
    await admin.disconnect();
  }
}

const budget = setTimeout(() => {
  check('within the time budget', false, 'kafkajs_scenario.js ran over 150 s');
  process.exit(1);
}, 150000);
main().then(() => {
  clearTimeout(budget);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}, (e) => {
  check('kafkajs_scenario.js ran to its end', false, `${e.name}: ${e.message}\n${e.stack}`);
  process.exit(1);
});
