'use strict';
// Starts the app on a unix socket and checks the contract rudderctl relies on.
// Run: npm test (Node >= 22, after npm ci).
const { test, before, after } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawn } = require('node:child_process');

const sock = path.join(os.tmpdir(), `example-transformer-${process.pid}.sock`);
let child;

function request(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: url, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    req.end();
  });
}

before(async () => {
  child = spawn(process.execPath, ['--no-node-snapshot', path.join(__dirname, '..', 'src', 'index.js')], {
    env: { ...process.env, PORT: sock, RUDDERCTL_EXAMPLE_TEST_ROUTES: 'true' },
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

after(() => child.kill('SIGTERM'));

test('health and features carry apiVersion 2', async () => {
  const h = await request('GET', '/health');
  assert.strictEqual(JSON.parse(h.body).service, 'UP');
  assert.strictEqual(h.headers.apiversion, '2');
  const f = JSON.parse((await request('GET', '/features')).body);
  assert.strictEqual(f.routerTransform.WEBHOOK, true);
});

test('webhook processor and router transforms', async () => {
  const ev = { message: { userId: 'u' }, destination: { Config: { webhookUrl: 'https://e.example/x' } }, metadata: { jobId: 1 } };
  const p = await request('POST', '/v0/destinations/webhook', [ev]);
  const out = JSON.parse(p.body);
  assert.strictEqual(out[0].statusCode, 200);
  assert.strictEqual(out[0].output.endpoint, 'https://e.example/x');
  assert.deepStrictEqual(out[0].metadata, { jobId: 1 });
  const r = JSON.parse((await request('POST', '/routerTransform', { destType: 'webhook', input: [ev] })).body);
  assert.strictEqual(r.output[0].batchedRequest.body.JSON.userId, 'u');
  const u = await request('POST', '/v0/destinations/nope', []);
  assert.strictEqual(u.status, 404);
  assert.deepStrictEqual(JSON.parse(u.body), { error: 'Unknown destination: nope' });
});

test('a 2 MB processor request', async () => {
  const ev = { message: { pad: 'x'.repeat(1000) }, destination: { Config: { webhookUrl: 'https://e/x' } }, metadata: {} };
  const res = await request('POST', '/v0/destinations/webhook', Array(2000).fill(ev));
  assert.strictEqual(JSON.parse(res.body).length, 2000);
});

test('customTransform runs user code in isolated-vm', async () => {
  const code = 'export function transformEvent(e, md) { e.seen = md().jobId; return e; }';
  const res = await request('POST', '/customTransform', [{ message: { a: 1 }, metadata: { jobId: 9 }, transformation: { versionId: 'v', code } }]);
  assert.deepStrictEqual(JSON.parse(res.body)[0].output, { a: 1, seen: 9 });
});

test('test routes', async () => {
  const bin = Buffer.from([0, 255, 1, 254]);
  const e = await request('POST', '/test/echo?a=%20b', bin, { 'content-type': 'application/x-thing', 'x-k': 'v' });
  assert.deepStrictEqual(e.body, bin);
  assert.strictEqual(e.headers['content-type'], 'application/x-thing');
  assert.strictEqual(e.headers['x-echo-x-k'], 'v');
  assert.strictEqual(e.headers['x-echo-query'], 'a=%20b');
  const g = await request('GET', '/test/gzip');
  assert.strictEqual(JSON.parse(zlib.gunzipSync(g.body)).gzipped, true);
  const c = await request('GET', '/test/cookies');
  assert.strictEqual(c.headers['set-cookie'].length, 3);
  const b = await request('GET', '/test/binary?bytes=3');
  assert.deepStrictEqual([...b.body], [7, 38, 69]);
});
