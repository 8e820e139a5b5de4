// kafkajs 2.2.4's ACL admin calls against a Strata cluster's KAFKA
// listeners (issue 16). Run by tests/interop/scenario_security_admin.py,
// after `npm ci` in <build>/tests/interop/kafkajs (kafkajs through
// NODE_PATH):
//
//   KAFKA_BOOTSTRAP=127.0.0.1:P,... SUFFIX=<unique> NODE_PATH=<dir>/node_modules \
//     node kafkajs_acls.js
//
// Prints one `ok   <what>` or `FAIL <what>: <detail>` line per check; the
// exit status is 0 only when every check passed.
'use strict';
const {
  Kafka, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes, logLevel,
} = require('kafkajs');

const suffix = process.env.SUFFIX || String(process.pid);
const kafka = new Kafka({
  clientId: 'strata-interop-kafkajs-acls',
  brokers: process.env.KAFKA_BOOTSTRAP.split(','),
  logLevel: logLevel.ERROR,
  connectionTimeout: 5000,
  requestTimeout: 20000,
  retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
});

let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}${detail ? ': ' + JSON.stringify(detail).slice(0, 2000) : ''}`);
  }
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  const topic = `kjs-acl-${suffix}`;
  const acl = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:dave',
    host: '*',
    operation: AclOperationTypes.DESCRIBE,
    permissionType: AclPermissionTypes.ALLOW,
  };
  const filter = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.ANY,
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  };
  try {
    check('kafkajs createAcls', await admin.createAcls({ acl: [acl] }) === true);
    const described = await admin.describeAcls(filter);
    const found = described.resources.flatMap((r) => r.acls.map((a) => ({ ...r, ...a })));
    check('kafkajs describeAcls finds it',
      !described.errorCode && found.length === 1 && found[0].principal === 'User:dave'
        && found[0].resourceName === topic
        && found[0].operation === AclOperationTypes.DESCRIBE, described);
    const deleted = await admin.deleteAcls({ filters: [filter] });
    const matching = deleted.filterResponses[0].matchingAcls;
    check('kafkajs deleteAcls answers the ACL it removed',
      deleted.filterResponses[0].errorCode === 0 && matching.length === 1
        && matching[0].principal === 'User:dave', deleted);
    const after = await admin.describeAcls(filter);
    check('kafkajs describeAcls: none left', after.resources.length === 0, after);
  } catch (e) {
    check('kafkajs ACL calls', false, `${e.name}: ${e.message}`);
  } finally {
    await admin.disconnect();
  }
}

main().then(() => process.exit(failed === 0 ? 0 : 1), (e) => {
  console.log(`FAIL kafkajs_acls.js: ${e.stack || e}`);
  process.exit(1);
});
