'use strict';
// The app binds a TCP port on loopback unless HOST says otherwise.
// Run: npm test (Node >= 22, after npm ci).
const { test } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

// start runs the app on a free TCP port and resolves with the address it logs.
function start(env) {
  const child = spawn(process.execPath, ['--no-node-snapshot', path.join(__dirname, '..', 'src', 'index.js')], {
    env: { ...process.env, PORT: '0', HOST: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+):(\d+)/.exec(out);
      if (m) resolve({ child, host: m[1], port: Number(m[2]) });
    });
    child.on('exit', (code) => reject(new Error(`the app exited (${code}): ${out}`)));
  });
}

function health(host, port, headers) {
  return new Promise((resolve) => {
    http.get({ host, port, path: '/health' }, (res) => {
      res.resume();
      if (headers) Object.assign(headers, res.headers);
      resolve(res.statusCode);
    }).on('error', (e) => resolve(e.code));
  });
}

// An address of this machine that is not loopback, if it has one.
const external = Object.values(os.networkInterfaces()).flat().find((i) => i.family === 'IPv4' && !i.internal)?.address;

test('a TCP port is bound on 127.0.0.1 by default', async (t) => {
  const app = await start({});
  t.after(() => app.child.kill('SIGTERM'));
  assert.strictEqual(app.host, '127.0.0.1');
  assert.strictEqual(await health('127.0.0.1', app.port), 200);
  if (external) assert.strictEqual(await health(external, app.port), 'ECONNREFUSED');
  else t.diagnostic('no non-loopback IPv4 interface: only the bound address is checked');
});

test('HOST=0.0.0.0 widens it to every interface', async (t) => {
  const app = await start({ HOST: '0.0.0.0' });
  t.after(() => app.child.kill('SIGTERM'));
  assert.strictEqual(app.host, '0.0.0.0');
  assert.strictEqual(await health('127.0.0.1', app.port), 200);
  if (external) assert.strictEqual(await health(external, app.port), 200);
});

test('in an ECS task, X-Served-By names the address the task was reached on', async (t) => {
  const plain = await start({});
  t.after(() => plain.child.kill('SIGTERM'));
  const h1 = {};
  assert.strictEqual(await health('127.0.0.1', plain.port, h1), 200);
  assert.strictEqual(h1['x-served-by'], undefined);
  const task = await start({ ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/task-1' });
  t.after(() => task.child.kill('SIGTERM'));
  const h2 = {};
  assert.strictEqual(await health('127.0.0.1', task.port, h2), 200);
  assert.strictEqual(h2['x-served-by'], `${os.hostname()}/127.0.0.1:${task.port}`);
});
