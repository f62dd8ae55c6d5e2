'use strict';
// Routes for rudderctl's end-to-end corpus, on only with RUDDERCTL_EXAMPLE_TEST_ROUTES=true.
const zlib = require('node:zlib');
const { rawBody } = require('./body');

function rawTarget(ctx) {
  const url = ctx.req.url; // exactly as received: no decoding, no normalisation
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function intParam(ctx, name, dflt) {
  const n = Number.parseInt(ctx.query[name], 10);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}

// deterministicBytes(n)[i] = (i * 31 + 7) mod 256: every byte value, mostly invalid UTF-8.
function deterministicBytes(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

function register(router) {
  router.all('/test/echo', async (ctx) => {
    const body = await rawBody(ctx);
    const { path, query } = rawTarget(ctx);
    if (ctx.query.json === '1') {
      ctx.body = {
        method: ctx.method,
        path,
        query,
        headers: ctx.headers,
        rawHeaders: ctx.req.rawHeaders,
        body: body.toString('utf8'),
        bodyBase64: body.toString('base64'),
        bodyLength: body.length,
      };
      return;
    }
    ctx.set('x-echo-method', ctx.method);
    ctx.set('x-echo-path', path);
    ctx.set('x-echo-query', query);
    for (const [k, v] of Object.entries(ctx.headers)) ctx.set(`x-echo-${k}`, String(v));
    ctx.status = 200;
    // Set the header verbatim (ctx.type would add "; charset=utf-8").
    ctx.set('Content-Type', ctx.get('content-type') || 'application/octet-stream');
    ctx.body = body;
  });

  router.get('/test/gzip', (ctx) => {
    const json = JSON.stringify({ gzipped: true, items: Array.from({ length: 50 }, (_, i) => ({ i })) });
    ctx.set('Content-Encoding', 'gzip');
    ctx.type = 'application/json';
    ctx.body = zlib.gzipSync(json);
  });

  router.get('/test/binary', (ctx) => {
    ctx.type = 'application/octet-stream';
    ctx.body = deterministicBytes(intParam(ctx, 'bytes', 256));
  });

  router.get('/test/cookies', (ctx) => {
    ctx.res.setHeader('Set-Cookie', ['session=abc123; Path=/; HttpOnly', 'theme=dark; Max-Age=3600', 'empty=']);
    ctx.body = { cookies: 3 };
  });

  router.get('/test/repeat-header', (ctx) => {
    ctx.res.setHeader('X-Repeat', ['one', 'two']);
    ctx.body = { repeated: true };
  });

  router.get('/test/big', (ctx) => {
    const n = intParam(ctx, 'bytes', 1024);
    const unit = 'abcdefghijklmnopqrstuvwxyz0123456789\n';
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
  });

  router.get('/test/slow', async (ctx) => {
    const ms = intParam(ctx, 'ms', 1000);
    await new Promise((r) => setTimeout(r, ms));
    ctx.body = { slept: ms };
  });

  // Exits with ?code=N (default 1): without answering, or with ?partial=1 after sending the status
  // line, headers and part of the body.
  router.post('/test/crash', (ctx) => {
    const code = intParam(ctx, 'code', 1);
    console.error(`example transformer: crashing on purpose with exit code ${code}`);
    if (ctx.query.partial === '1') {
      ctx.res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      ctx.res.write('{"partial":');
      setTimeout(() => process.exit(code), 20);
      ctx.respond = false;
      return new Promise(() => {});
    }
    process.exit(code);
  });

  router.get('/test/status/:code', (ctx) => {
    const code = Number.parseInt(ctx.params.code, 10);
    if (!(code >= 200 && code <= 599)) ctx.throw(400, 'status must be 200..599');
    ctx.status = code;
    if (code === 204 || code === 304) return;
    if (code >= 300 && code < 400) ctx.set('Location', '/health');
    ctx.body = { status: code };
  });
}

module.exports = { register, deterministicBytes };
