// node-vault 0.12 initialising, unsealing and sealing a fresh arca server over
// TLS (ARCA_FRESH_ADDR, ARCA_FRESH_CACERT set by test_node_vault.py; skipped
// when they are not set). Run with Node's built-in runner: node --test.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const nodeVault = require('node-vault');

const endpoint = process.env.ARCA_FRESH_ADDR;
const caPath = process.env.ARCA_FRESH_CACERT;

function client(token) {
  return nodeVault({
    endpoint,
    token,
    requestOptions: { ca: fs.readFileSync(caPath), timeout: 10000 },
  });
}

test('init, unseal and seal a fresh server over TLS', { skip: !endpoint || !caPath }, async () => {
  const anon = client(undefined);
  assert.deepEqual(await anon.initialized(), { initialized: false });
  const before = await anon.status();
  assert.equal(before.initialized, false);
  assert.equal(before.sealed, true);

  const health = await anon.health();
  assert.equal(health.initialized, false);

  const init = await anon.init({ secret_shares: 3, secret_threshold: 2 });
  assert.equal(init.keys.length, 3);
  assert.equal(init.keys_base64.length, 3);
  assert.ok(init.root_token.startsWith('hvs.'));

  let st = await anon.unseal({ key: init.keys[0] });
  assert.equal(st.sealed, true);
  assert.equal(st.progress, 1);
  assert.equal(st.t, 2);
  assert.equal(st.n, 3);
  st = await anon.unseal({ key: init.keys_base64[1] });
  assert.equal(st.sealed, false);

  const root = client(init.root_token);
  const self = await root.tokenLookupSelf();
  assert.deepEqual(self.data.policies, ['root']);

  await root.seal();
  assert.equal((await anon.status()).sealed, true);
  const sealedHealth = await anon.health();
  assert.equal(sealedHealth.sealed, true);
  await assert.rejects(root.tokenLookupSelf(), (err) => {
    assert.equal(err.response.statusCode, 503);
    assert.match(err.message, /Vault is sealed/);
    return true;
  });
});
