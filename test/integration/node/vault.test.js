// node-vault 0.12 against a running arca dev server (VAULT_ADDR, VAULT_TOKEN
// set by test_node_vault.py). Run with Node's built-in runner: node --test.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const nodeVault = require('node-vault');

const endpoint = process.env.VAULT_ADDR;
const rootToken = process.env.VAULT_TOKEN;
if (!endpoint || !rootToken) {
  throw new Error('VAULT_ADDR and VAULT_TOKEN must be set');
}
// node-vault falls back to $VAULT_TOKEN when a client has no token; remove it
// so that client(null) really sends no token.
delete process.env.VAULT_TOKEN;

// A fresh client per use: tokenCreate/tokenRenewSelf replace client.token.
function client(token = rootToken, extra = {}) {
  return nodeVault({ endpoint, token, requestOptions: { timeout: 10000 }, ...extra });
}

function uniq(prefix) {
  return `${prefix}${crypto.randomBytes(5).toString('hex')}`;
}

async function rejectsWithStatus(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.ok(err.response, `expected an ApiResponseError, got ${err}`);
    assert.equal(err.response.statusCode, status);
    return true;
  });
}

test('init status and seal status', async () => {
  const vault = client();
  assert.deepEqual(await vault.initialized(), { initialized: true });
  const st = await vault.status();
  assert.equal(st.sealed, false);
  assert.equal(st.initialized, true);
  assert.ok(Number.isInteger(st.t) && Number.isInteger(st.n) && Number.isInteger(st.progress));
  assert.equal(st.type, 'shamir');
});

test('health returns the body for any status', async () => {
  const vault = client();
  const h = await vault.health();
  assert.equal(h.initialized, true);
  assert.equal(h.sealed, false);
  assert.equal(h.standby, false);
  assert.ok(Number.isInteger(h.server_time_utc));
  assert.equal(typeof h.version, 'string');
  const ok = await vault.health({ standbyok: true });
  assert.equal(ok.sealed, false);
  // A non-200 status from sys/health still resolves with the body.
  const odd = await vault.health({ activecode: 299 });
  assert.equal(odd.sealed, false);
  assert.equal(odd.initialized, true);
});

test('leader', async () => {
  const leader = await client().leader();
  assert.equal(typeof leader.ha_enabled, 'boolean');
  assert.equal(typeof leader.is_self, 'boolean');
  assert.equal(typeof leader.leader_address, 'string');
  assert.ok(!Number.isNaN(Date.parse(leader.active_time)), leader.active_time);
});

test('mounts: list, mount, unmount', async () => {
  const vault = client();
  const mounts = await vault.mounts();
  assert.equal(mounts.data['secret/'].type, 'kv');
  assert.deepEqual(mounts.data['secret/'].options, { version: '2' });
  assert.ok(mounts.data['sys/']);
  assert.ok(mounts['cubbyhole/'], 'top-level injection of sys/mounts data');

  const path = uniq('nodekv');
  await vault.mount({ mount_point: path, type: 'kv', options: { version: '2' }, description: 'from node' });
  const after = await vault.mounts();
  assert.equal(after.data[`${path}/`].type, 'kv');
  assert.equal(after.data[`${path}/`].description, 'from node');
  assert.deepEqual(after.data[`${path}/`].options, { version: '2' });
  await vault.unmount({ mount_point: path });
  assert.equal((await vault.mounts()).data[`${path}/`], undefined);
});

test('auth methods', async () => {
  const auths = await client().auths();
  assert.equal(auths.data['token/'].type, 'token');
});

test('policies: add, get, list, remove', async () => {
  const vault = client();
  const name = uniq('nodepol');
  const rules = 'path "secret/data/node/*" { capabilities = ["read", "list"] }';
  await vault.addPolicy({ name, rules });
  const got = await vault.getPolicy({ name });
  assert.equal(got.data.rules, rules);
  assert.equal(got.rules, rules);
  const list = await vault.policies();
  assert.ok(list.policies.includes(name));
  assert.ok(list.policies.includes('root'));
  assert.ok(list.data.keys.includes('default'));
  await vault.removePolicy({ name });
  await rejectsWithStatus(vault.getPolicy({ name }), 404);
});

test('tokens: create, lookup-self, renew-self, revoke-self', async () => {
  const creator = client();
  const created = await creator.tokenCreate({ policies: ['default'], ttl: '1h', display_name: 'node', meta: { app: 'x' } });
  const auth = created.auth;
  assert.ok(auth.client_token.startsWith('hvs.'));
  assert.deepEqual(auth.policies, ['default']);
  assert.equal(auth.lease_duration, 3600);
  assert.equal(auth.renewable, true);
  assert.deepEqual(auth.metadata, { app: 'x' });
  assert.equal(creator.token, auth.client_token, 'node-vault adopts the created token');

  const me = client(auth.client_token);
  const self = await me.tokenLookupSelf();
  assert.equal(self.data.id, auth.client_token);
  assert.equal(self.data.display_name, 'token-node');
  assert.ok(Number.isInteger(self.data.ttl) && self.data.ttl > 3500 && self.data.ttl <= 3600);

  const renewed = await me.tokenRenewSelf({ increment: '2h' });
  assert.equal(renewed.auth.lease_duration, 7200);
  assert.equal(renewed.auth.renewable, true);

  await me.tokenRevokeSelf();
  await rejectsWithStatus(client(auth.client_token).tokenLookupSelf(), 403);
});

test('kv v2 via generic read/write/list/delete', async () => {
  const vault = client();
  const key = uniq('node-x');
  const w = await vault.write(`secret/data/${key}`, { data: { a: 'b', n: 1 } });
  assert.equal(w.data.version, 1);
  const r = await vault.read(`secret/data/${key}`);
  assert.deepEqual(r.data.data, { a: 'b', n: 1 });
  assert.equal(r.data.metadata.version, 1);
  assert.equal(r.lease_duration, 0);

  const w2 = await vault.write(`secret/data/${key}`, { data: { a: 'c' }, options: { cas: 1 } });
  assert.equal(w2.data.version, 2);
  await assert.rejects(vault.write(`secret/data/${key}`, { data: { a: 'd' }, options: { cas: 1 } }),
    /check-and-set/);

  const listed = await vault.list('secret/metadata/');
  assert.ok(listed.data.keys.includes(key));
  const listedGet = await client(rootToken, { noCustomHTTPVerbs: true }).list('secret/metadata/');
  assert.ok(listedGet.data.keys.includes(key));

  await vault.delete(`secret/data/${key}`);
  await rejectsWithStatus(vault.read(`secret/data/${key}`), 404);
  const older = await vault.read(`secret/data/${key}?version=1`);
  assert.deepEqual(older.data.data, { a: 'b', n: 1 });

  await vault.destroySecretVersions({ path: key, versions: [1] });
  const md = await vault.read(`secret/metadata/${key}`);
  assert.equal(md.data.versions['1'].destroyed, true);
  await vault.delete(`secret/metadata/${key}`);
  await rejectsWithStatus(vault.read(`secret/metadata/${key}`), 404);
});

test('kv v2 PATCH via update()', async () => {
  const vault = client();
  const key = uniq('node-patch');
  await vault.write(`secret/data/${key}`, { data: { a: '1', b: '2' } });
  const p = await vault.update(`secret/data/${key}`, { data: { b: null, c: '3' } });
  assert.equal(p.data.version, 2);
  const r = await vault.read(`secret/data/${key}`);
  assert.deepEqual(r.data.data, { a: '1', c: '3' });
});

test('errors: missing path, bad token, empty list', async () => {
  const vault = client();
  await rejectsWithStatus(vault.read(`secret/data/${uniq('missing')}`), 404);
  await rejectsWithStatus(vault.list(`secret/metadata/${uniq('nofolder')}`), 404);
  await assert.rejects(client('hvs.not-a-token').read('secret/data/x'), (err) => {
    assert.equal(err.response.statusCode, 403);
    assert.match(err.message, /permission denied/);
    return true;
  });
  await rejectsWithStatus(client(null).read('sys/mounts'), 403);
});

test('cubbyhole through node-vault', async () => {
  const creator = client();
  const tok = (await creator.tokenCreate({ policies: ['default'], ttl: '10m' })).auth.client_token;
  const me = client(tok);
  await me.write('cubbyhole/node', { k: 'v' });
  assert.deepEqual((await me.read('cubbyhole/node')).data, { k: 'v' });
  assert.deepEqual((await me.list('cubbyhole')).data.keys, ['node']);
  await rejectsWithStatus(client().read('cubbyhole/node'), 404);
});
