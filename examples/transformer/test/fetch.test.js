'use strict';
// /customTransform with code fetched by version id from CONFIG_BACKEND_URL, as rudder-server and
// rudder-transformer do it: a fake config backend counts fetches and checks the hosted secret.
// Run: npm test (Node >= 22, after npm ci).
const { test, before, after } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const sock = path.join(os.tmpdir(), `example-transformer-fetch-${process.pid}.sock`);
const SECRET = 'hosted-secret';
const answers = {
  '/transformation/getByVersionId?versionId=fn-v1': {
    id: 'fn', versionId: 'fn-v1', name: 'enrich', codeVersion: '1', language: 'javascript', workspaceId: 'ws',
    code: 'import { maskEmail } from "piiHelpers";\nexport function transformEvent(event, metadata) {\n  if (event.drop) return null;\n  event.email = maskEmail(event.email);\n  event.job = metadata(event).jobId;\n  return event;\n}\n',
  },
  '/transformation/getByVersionId?versionId=fn-batch': {
    id: 'fb', versionId: 'fn-batch', name: 'batch', codeVersion: '1', language: 'javascript', workspaceId: 'ws',
    code: 'export function transformBatch(events) { return events.map((e) => ({ ...e, batched: true })); }\n',
  },
  '/transformationLibrary/getByVersionId?versionId=lib-v1': {
    id: 'lib', versionId: 'lib-v1', name: 'pii-helpers',
    code: 'export function maskEmail(e) { return e[0] + "***" + e.slice(e.indexOf("@")); }\n',
  },
};
const hits = {};
let backend;
let child;

function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: url }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

before(async () => {
  backend = http.createServer((req, res) => {
    hits[req.url] = (hits[req.url] || 0) + 1;
    const auth = req.headers.authorization || '';
    if (auth !== `Basic ${Buffer.from(`${SECRET}:`).toString('base64')}`) {
      res.writeHead(401).end('{}');
      return;
    }
    if (req.url.includes('versionId=broken')) {
      res.writeHead(500).end('{}');
      return;
    }
    const a = answers[req.url];
    res.writeHead(a ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(a || { error: 'no such version' }));
  });
  await new Promise((r) => backend.listen(0, '127.0.0.1', r));
  child = spawn(process.execPath, ['--no-node-snapshot', path.join(__dirname, '..', 'src', 'index.js')], {
    env: { ...process.env, PORT: sock, CONFIG_BACKEND_URL: `http://127.0.0.1:${backend.address().port}/`, CONFIG_BACKEND_HOSTED_SECRET: `${SECRET}\n` },
    stdio: 'inherit',
  });
  for (let i = 0; i < 3000; i++) { // up to 30 s: a loaded machine starts Node slowly
    try {
      if ((await request('GET', '/health')).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the app did not start');
});

after(() => {
  child.kill('SIGTERM');
  backend.close();
});

const event = (versionId, message, jobId) => ({
  message,
  metadata: { jobId, sourceId: 's' },
  destination: { Transformations: [{ VersionID: versionId }] },
  libraries: [{ VersionID: 'lib-v1' }],
});

test('code is fetched by version id once, with its library, and runs in isolated-vm', async () => {
  const body = [event('fn-v1', { email: 'jane@example.com' }, 1), event('fn-v1', { drop: true }, 2)];
  const first = JSON.parse((await request('POST', '/customTransform', body)).body);
  assert.deepStrictEqual(first, [{ output: { email: 'j***@example.com', job: 1 }, metadata: { jobId: 1, sourceId: 's' }, statusCode: 200 }]);
  const second = JSON.parse((await request('POST', '/customTransform', [event('fn-v1', { email: 'bob@x.org' }, 3)])).body);
  assert.strictEqual(second[0].output.email, 'b***@x.org');
  assert.strictEqual(hits['/transformation/getByVersionId?versionId=fn-v1'], 1);
  assert.strictEqual(hits['/transformationLibrary/getByVersionId?versionId=lib-v1'], 1);
});

test('transformBatch functions run too', async () => {
  const out = JSON.parse((await request('POST', '/customTransform', [event('fn-batch', { a: 1 }, 4)])).body);
  assert.deepStrictEqual(out[0].output, { a: 1, batched: true });
});

test('an unknown version is a per-event error; a failing backend is 503 and not cached', async () => {
  const unknown = JSON.parse((await request('POST', '/customTransform', [event('nope', {}, 5)])).body);
  assert.strictEqual(unknown[0].statusCode, 400);
  assert.match(unknown[0].error, /answered 404/);
  const missing = JSON.parse((await request('POST', '/customTransform', [{ message: {}, metadata: { jobId: 6 } }])).body);
  assert.deepStrictEqual(missing, [{ metadata: { jobId: 6 }, statusCode: 400, error: 'Transformation VersionID not found' }]);
  for (let i = 0; i < 2; i++) {
    const broken = await request('POST', '/customTransform', [event('broken', {}, 7)]);
    assert.strictEqual(broken.status, 503);
  }
  assert.strictEqual(hits['/transformation/getByVersionId?versionId=broken'], 2);
});
