// An OpenID provider for arca's integration tests, shaped like EGI Check-in
// (Keycloak realm "egi"), built on the npm package oidc-provider 8.
//
//   node oidc_server.mjs [port]        (or OIDC_PORT; 0 or nothing = a free port)
//
// Listens on 127.0.0.1 only, plain HTTP, or HTTPS when OIDC_TLS_CERT and
// OIDC_TLS_KEY name PEM files, and prints one line once it accepts requests:
//   OIDC_READY {"port":N,"issuer":"http://127.0.0.1:N/auth/realms/egi",...}
//
// What it mimics from Check-in (see shared/reference/egi-clients.md 2.3):
// * issuer http://127.0.0.1:<port>/auth/realms/egi with Keycloak's endpoint
//   paths (…/protocol/openid-connect/{auth,token,certs,userinfo,…});
// * access tokens are JWS (RS256, kid in the header, typ "JWT") verifiable
//   with the JWKS and carrying NO `aud` (oidc-provider insists on one, so the
//   audience is replaced by a value that serialises to nothing);
// * `sub` = 64 hex characters + "@egi.eu" for users, "<uuid>@egi.eu" for
//   service accounts (client-credentials grant);
// * eduperson_entitlement only from userinfo (served here, not by
//   oidc-provider, whose userinfo refuses resource-server tokens), never in
//   the access or ID token; read live from the in-memory user store.
//
// Interactions (login and consent) are plain HTTP so tests drive them with
// requests: GET <issuer>/interaction/<uid> answers JSON {uid, prompt, ...};
// POST …/login (form: login, password — every user's password is its login),
// POST …/confirm, POST …/abort each answer 303 to the provider's resume URL.
//
// Test-only admin endpoints (loopback peers only; JSON in and out):
//   GET  /test/health
//   GET  /test/users/<login>          the user (sub, entitlements, ...)
//   POST /test/users/<login>          {entitlements?, name?, email?}: create or update
//   POST /test/rotate                 {keep_old: bool}: a new RSA signing key, first
//                                     in the JWKS; the previous RSA keys stay listed
//                                     (keep_old true, default) or are removed
//   POST /test/sign                   {claims, header?, alg?, kid?}: a compact JWS
//                                     signed with a provider key (any key ever used,
//                                     retired ones included, when kid is given)
//   POST /test/config                 {userinfo_status?: int, userinfo_sub?: string}:
//                                     userinfo fails with that status / answers with
//                                     that sub (0 / "" = normal answers)
//   GET  /test/stats                  request counters {discovery, jwks, userinfo, token, ...}
//   GET  /test/jwks                   the published JWKS (same as the certs endpoint)
//
// Nothing here logs tokens, codes or secrets: the request log has method and
// path only.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';

import Provider from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
// Private helpers of oidc-provider, imported by file so that they are the very
// modules the provider uses (needed to swap the signing keys at runtime).
const providerLib = path.join(here, 'node_modules', 'oidc-provider', 'lib', 'helpers');
const { default: initializeKeystore } = await import(
  pathToFileURL(path.join(providerLib, 'initialize_keystore.js')).href);

const REALM = '/auth/realms/egi';
const OIDC = `${REALM}/protocol/openid-connect`;
const RESOURCE = 'urn:arca:test:checkin-access-token';
const TOKEN_SCOPES = 'openid profile email eduperson_entitlement voperson_id offline_access';
const MAX_BODY = 64 * 1024;

const requestedPort = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) {
  console.error(`bad port ${process.argv[2] ?? process.env.OIDC_PORT}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------
// Users and service accounts

function userSub(login) {
  return `${crypto.createHash('sha256').update(`arca-test-user:${login}`).digest('hex')}@egi.eu`;
}

function uuidFrom(seed) {
  const h = crypto.createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const LOGIN_RE = /^[a-z][a-z0-9._-]{0,63}$/;
const users = new Map(); // login -> user
const usersBySub = new Map();

function putUser(login, fields = {}) {
  let u = users.get(login);
  if (!u) {
    u = {
      login,
      sub: userSub(login),
      name: login.charAt(0).toUpperCase() + login.slice(1),
      email: `${login}@example.org`,
      entitlements: [],
    };
    users.set(login, u);
    usersBySub.set(u.sub, u);
  }
  if (fields.entitlements !== undefined) u.entitlements = [...fields.entitlements];
  if (fields.name !== undefined) u.name = fields.name;
  if (fields.email !== undefined) u.email = fields.email;
  return u;
}

const vo = (name) => `urn:mace:egi.eu:group:${name}:role=member#aai.egi.eu`;
putUser('alice', { entitlements: [vo('vo.example.eu')] });
putUser('bob', { entitlements: [vo('vo.example.eu'), vo('vo.other.eu')] });
putUser('carol', { entitlements: [] });

const SERVICE_ACCOUNTS = [
  { client_id: 'svc-catchall', client_secret: 'svc-catchall-secret' },
  { client_id: 'svc-argo', client_secret: 'svc-argo-secret' },
].map((s) => ({ ...s, sub: `${uuidFrom(`arca-test-service:${s.client_id}`)}@egi.eu` }));
const serviceByClient = new Map(SERVICE_ACCOUNTS.map((s) => [s.client_id, s]));

// ---------------------------------------------------------------------------
// Keys

function newKey(kty) {
  const { privateKey } = kty === 'EC'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = crypto.randomBytes(12).toString('hex');
  jwk.use = 'sig';
  return { jwk, privateKey, publicKey: crypto.createPublicKey(privateKey) };
}

const allKeys = new Map(); // kid -> key, every key ever made (retired ones too)
let rsaKeys = [];          // published RSA keys, the signing key first
const ecKey = newKey('EC');
allKeys.set(ecKey.jwk.kid, ecKey);

function remember(k) {
  allKeys.set(k.jwk.kid, k);
  return k;
}
rsaKeys.push(remember(newKey('RSA')));

function publishedKeys() {
  return [...rsaKeys, ecKey];
}

function publicJwk({ jwk }) {
  const out = { kty: jwk.kty, use: 'sig', kid: jwk.kid };
  for (const f of ['n', 'e', 'crv', 'x', 'y']) if (jwk[f] !== undefined) out[f] = jwk[f];
  return out;
}

// ---------------------------------------------------------------------------
// JWS helpers (node:crypto only)

const b64u = (buf) => Buffer.from(buf).toString('base64url');

const ALGS = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: 32 },
  PS384: { hash: 'sha384', kty: 'RSA', pss: 48 },
  PS512: { hash: 'sha512', kty: 'RSA', pss: 64 },
  ES256: { hash: 'sha256', kty: 'EC' },
};

function keyOptions(alg, key) {
  const a = ALGS[alg];
  if (a.pss) return { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: a.pss };
  if (a.kty === 'EC') return { key, dsaEncoding: 'ieee-p1363' };
  return key;
}

function signJws(claims, { alg = 'RS256', kid, header = {} } = {}) {
  const a = ALGS[alg];
  if (!a) throw new Error(`unsupported alg ${alg}`);
  let key;
  if (kid) {
    key = allKeys.get(kid);
    if (!key) throw new Error(`unknown kid ${kid}`);
  } else {
    key = publishedKeys().find((k) => k.jwk.kty === a.kty);
  }
  if (key.jwk.kty !== a.kty) throw new Error(`key ${key.jwk.kid} cannot sign ${alg}`);
  const h = { alg, typ: 'JWT', kid: key.jwk.kid, ...header };
  for (const [k, v] of Object.entries(h)) if (v === null) delete h[k];
  const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(claims))}`;
  const sig = crypto.sign(a.hash, Buffer.from(input), keyOptions(alg, key.privateKey));
  return `${input}.${b64u(sig)}`;
}

// Verifies a compact JWS against the published keys; returns its claims or
// throws.
function verifyJws(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error('not a JWS');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  const a = ALGS[header.alg];
  if (!a) throw new Error('unsupported alg');
  const key = publishedKeys().find((k) => k.jwk.kid === header.kid);
  if (!key || key.jwk.kty !== a.kty) throw new Error('unknown key');
  const ok = crypto.verify(a.hash, Buffer.from(`${parts[0]}.${parts[1]}`),
    keyOptions(header.alg, key.publicKey), Buffer.from(parts[2], 'base64url'));
  if (!ok) throw new Error('bad signature');
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString());
}

// ---------------------------------------------------------------------------
// Small HTTP helpers

const stats = {
  discovery: 0, jwks: 0, userinfo: 0, token: 0, authorization: 0, interaction: 0,
};
const settings = { userinfo_status: 0, userinfo_sub: '' };

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readParams(req) {
  const raw = await readBody(req);
  if (!raw) return {};
  if ((req.headers['content-type'] || '').includes('application/json')) {
    const v = JSON.parse(raw);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v;
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function isLoopback(req) {
  const a = req.socket.remoteAddress || '';
  return a === '127.0.0.1' || a === '::1' || a === '::ffff:127.0.0.1';
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------------------
// The provider

const tls = process.env.OIDC_TLS_CERT && process.env.OIDC_TLS_KEY
  ? { cert: fs.readFileSync(process.env.OIDC_TLS_CERT), key: fs.readFileSync(process.env.OIDC_TLS_KEY) }
  : undefined;
const server = tls ? https.createServer(tls) : http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, '127.0.0.1', resolve);
});
const { port } = server.address();
const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
const issuer = `${origin}${REALM}`;

const NO_AUD = Object.freeze({ toJSON: () => undefined }); // truthy, serialises to nothing

const extraRedirects = (process.env.OIDC_REDIRECT_URIS || '').split(',').filter(Boolean);
const loopbackCallbacks = ['http://localhost:8250/oidc/callback', 'http://127.0.0.1:8250/oidc/callback'];

const configuration = {
  clients: [
    {
      // arca's auth/oidc mount (the web UI and `login -method=oidc`).
      client_id: 'arca-oidc',
      client_secret: 'arca-oidc-secret',
      redirect_uris: [
        ...loopbackCallbacks,
        'https://arca.test.invalid/ui/vault/auth/oidc/oidc/callback',
        ...extraRedirects,
      ],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: TOKEN_SCOPES,
    },
    {
      // What the tests use to get users' access tokens (Check-in's token portal).
      client_id: 'token-portal',
      client_secret: 'token-portal-secret',
      redirect_uris: ['http://127.0.0.1:8250/token-portal/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: TOKEN_SCOPES,
    },
    ...SERVICE_ACCOUNTS.map((s) => ({
      client_id: s.client_id,
      client_secret: s.client_secret,
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email eduperson_entitlement voperson_id',
    })),
  ],
  jwks: { keys: publishedKeys().map((k) => k.jwk) },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
    voperson_id: ['voperson_id'],
    eduperson_entitlement: ['eduperson_entitlement'],
  },
  scopes: ['openid', 'offline_access'],
  routes: {
    authorization: '/protocol/openid-connect/auth',
    token: '/protocol/openid-connect/token',
    jwks: '/protocol/openid-connect/certs',
    userinfo: '/protocol/openid-connect/userinfo',
    introspection: '/protocol/openid-connect/token/introspect',
    revocation: '/protocol/openid-connect/revoke',
    end_session: '/protocol/openid-connect/logout',
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: TOKEN_SCOPES,
          audience: RESOURCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  formats: {
    customizers: {
      // Check-in's access-token shape: no aud, typ "Bearer", azp, voperson_id.
      async jwt(ctx, token, jwt) {
        const p = jwt.payload;
        const svc = token.accountId ? undefined : serviceByClient.get(token.clientId);
        if (svc) p.sub = svc.sub;
        p.aud = NO_AUD;
        p.azp = token.clientId;
        p.typ = 'Bearer';
        p.voperson_id = p.sub;
        jwt.header = { typ: 'JWT' };
      },
    },
  },
  async findAccount(ctx, sub) {
    const u = usersBySub.get(sub);
    if (!u) return undefined;
    return {
      accountId: sub,
      // Never the entitlements: Check-in gives them only from userinfo.
      async claims() {
        return {
          sub, name: u.name, email: u.email, email_verified: true, voperson_id: sub,
        };
      },
    };
  },
  interactions: {
    url: (ctx, interaction) => `${REALM}/interaction/${interaction.uid}`,
  },
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    IdToken: 3600,
    AuthorizationCode: 120,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 86400,
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
const providerCallback = provider.callback();

function rotate(keepOld) {
  const previous = rsaKeys[0];
  const fresh = remember(newKey('RSA'));
  rsaKeys = keepOld ? [fresh, ...rsaKeys] : [fresh];
  initializeKeystore.call(provider, { keys: publishedKeys().map((k) => k.jwk) });
  return { kid: fresh.jwk.kid, previous_kid: previous.jwk.kid, jwks: { keys: publishedKeys().map(publicJwk) } };
}

// ---------------------------------------------------------------------------
// Userinfo (Check-in's: entitlements live, only here)

function userinfo(req, res) {
  stats.userinfo += 1;
  const fail = (status, error) => send(res, status, { error, error_description: error }, {
    'WWW-Authenticate': `Bearer realm="${issuer}", error="invalid_token"`,
  });
  if (settings.userinfo_status) return fail(settings.userinfo_status, 'userinfo disabled by the test');
  const auth = req.headers.authorization || '';
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) return fail(401, 'no access token provided');
  let claims;
  try {
    claims = verifyJws(m[1]);
  } catch {
    return fail(401, 'invalid token');
  }
  const now = Math.floor(Date.now() / 1000);
  if (claims.iss !== issuer || typeof claims.exp !== 'number' || claims.exp <= now) {
    return fail(401, 'token expired or not issued here');
  }
  const scopes = new Set(String(claims.scope || '').split(' '));
  const u = usersBySub.get(claims.sub);
  if (u) {
    const out = { sub: u.sub, voperson_id: u.sub };
    if (scopes.has('profile')) out.name = u.name;
    if (scopes.has('email')) Object.assign(out, { email: u.email, email_verified: true });
    if (scopes.has('eduperson_entitlement')) out.eduperson_entitlement = [...u.entitlements];
    if (settings.userinfo_sub) out.sub = settings.userinfo_sub;
    return send(res, 200, out);
  }
  if (SERVICE_ACCOUNTS.some((s) => s.sub === claims.sub)) {
    return send(res, 200, { sub: claims.sub, voperson_id: claims.sub });
  }
  return fail(401, 'unknown subject');
}

// ---------------------------------------------------------------------------
// Interactions

async function interaction(req, res, uid, action) {
  stats.interaction += 1;
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (e) {
    return send(res, 400, { error: 'invalid_request', error_description: `interaction: ${e.message}` });
  }
  if (details.uid !== uid) return send(res, 400, { error: 'invalid_request', error_description: 'interaction mismatch' });
  const { prompt, params } = details;

  if (req.method === 'GET' && !action) {
    const info = {
      uid, prompt: prompt.name, reasons: prompt.reasons, details: prompt.details,
      client_id: params.client_id, scope: params.scope,
      login_action: `${REALM}/interaction/${uid}/login`,
      confirm_action: `${REALM}/interaction/${uid}/confirm`,
      abort_action: `${REALM}/interaction/${uid}/abort`,
    };
    if ((req.headers.accept || '').includes('text/html')) {
      const form = prompt.name === 'login'
        ? `<form method="post" action="${info.login_action}"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`
        : `<form method="post" action="${info.confirm_action}"><p>${escapeHtml(params.client_id)} asks for ${escapeHtml(params.scope)}</p><button>Allow</button></form>`;
      return send(res, 200, `<!DOCTYPE html><html><body>${form}</body></html>`);
    }
    return send(res, 200, info);
  }
  if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });

  let form;
  try {
    form = await readParams(req);
  } catch (e) {
    return send(res, 400, { error: 'invalid_request', error_description: e.message });
  }
  if (action === 'login') {
    if (prompt.name !== 'login') return send(res, 400, { error: 'invalid_request', error_description: `prompt is ${prompt.name}` });
    const u = users.get(String(form.login || ''));
    if (!u || String(form.password ?? '') !== u.login) {
      return send(res, 401, { error: 'access_denied', error_description: 'invalid login or password' });
    }
    return provider.interactionFinished(req, res, { login: { accountId: u.sub } },
      { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    if (prompt.name !== 'consent') return send(res, 400, { error: 'invalid_request', error_description: `prompt is ${prompt.name}` });
    const accountId = details.session?.accountId;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 404, { error: 'not found' });
}

// ---------------------------------------------------------------------------
// Admin endpoints

async function admin(req, res, url) {
  if (!isLoopback(req)) return send(res, 403, { error: 'loopback only' });
  const p = url.pathname;
  let body = {};
  if (req.method === 'POST') {
    try {
      body = await readParams(req);
    } catch (e) {
      return send(res, 400, { error: e.message });
    }
  }
  if (p === '/test/health') return send(res, 200, { ok: true, issuer });
  if (p === '/test/stats') return send(res, 200, stats);
  if (p === '/test/jwks') return send(res, 200, { keys: publishedKeys().map(publicJwk) });
  const um = /^\/test\/users\/([^/]+)$/.exec(p);
  if (um) {
    const login = decodeURIComponent(um[1]);
    if (!LOGIN_RE.test(login)) return send(res, 400, { error: 'bad login' });
    if (req.method === 'GET') {
      const u = users.get(login);
      return u ? send(res, 200, u) : send(res, 404, { error: 'no such user' });
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
    const ents = body.entitlements;
    if (ents !== undefined && !(Array.isArray(ents) && ents.length <= 100 && ents.every((e) => typeof e === 'string' && e.length <= 512))) {
      return send(res, 400, { error: 'entitlements must be a list of strings' });
    }
    return send(res, 200, putUser(login, body));
  }
  if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
  if (p === '/test/rotate') return send(res, 200, rotate(body.keep_old !== false));
  if (p === '/test/sign') {
    if (!body.claims || typeof body.claims !== 'object') return send(res, 400, { error: 'claims must be an object' });
    try {
      return send(res, 200, { token: signJws(body.claims, { alg: body.alg, kid: body.kid, header: body.header || {} }) });
    } catch (e) {
      return send(res, 400, { error: e.message });
    }
  }
  if (p === '/test/config') {
    if (body.userinfo_status !== undefined) settings.userinfo_status = Number(body.userinfo_status) || 0;
    if (body.userinfo_sub !== undefined) settings.userinfo_sub = String(body.userinfo_sub);
    return send(res, 200, settings);
  }
  return send(res, 404, { error: 'not found' });
}

// ---------------------------------------------------------------------------
// Dispatch

server.on('request', async (req, res) => {
  const url = new URL(req.url, origin);
  const p = url.pathname;
  console.error(`${new Date().toISOString()} ${req.method} ${p}`);
  try {
    if (p.startsWith('/test/')) return await admin(req, res, url);
    if (p === `${OIDC}/userinfo`) return userinfo(req, res);
    const im = new RegExp(`^${REALM}/interaction/([A-Za-z0-9_-]+)(?:/(login|confirm|abort))?$`).exec(p);
    if (im) return await interaction(req, res, im[1], im[2]);
    if (p === REALM || p.startsWith(`${REALM}/`)) {
      if (p.endsWith('/.well-known/openid-configuration')) stats.discovery += 1;
      if (p === `${OIDC}/certs`) stats.jwks += 1;
      if (p === `${OIDC}/token`) stats.token += 1;
      if (p === `${OIDC}/auth`) stats.authorization += 1;
      // Mounted under the realm path, as express would: oidc-provider derives
      // its mount path from originalUrl minus url.
      req.originalUrl = req.url;
      req.url = req.url.slice(REALM.length) || '/';
      return providerCallback(req, res);
    }
    return send(res, 404, { error: 'not found' });
  } catch (e) {
    console.error('oidc_server: request failed:', e);
    if (!res.headersSent) send(res, 500, { error: 'server_error' });
    else res.end();
  }
  return undefined;
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}

console.log(`OIDC_READY ${JSON.stringify({
  port,
  issuer,
  userinfo: `${OIDC}/userinfo`,
  users: Object.fromEntries([...users.values()].map((u) => [u.login, u.sub])),
  service_accounts: Object.fromEntries(SERVICE_ACCOUNTS.map((s) => [s.client_id, s.sub])),
})}`);
