'use strict';
// Raw body reading: we take bytes ourselves so binary bodies and large JSON (like the real
// transformer's 200 MB JSON limit) pass without a body-parser's opinions.
const LIMIT = 200 * 1024 * 1024;

async function rawBody(ctx) {
  if (ctx.state.rawBody) return ctx.state.rawBody;
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > LIMIT) ctx.throw(413, 'request entity too large');
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > LIMIT) ctx.throw(413, 'request entity too large');
    chunks.push(chunk);
  }
  ctx.state.rawBody = Buffer.concat(chunks, size);
  return ctx.state.rawBody;
}

async function jsonBody(ctx) {
  const buf = await rawBody(ctx);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    ctx.throw(400, `invalid JSON body: ${err.message}`);
  }
}

module.exports = { rawBody, jsonBody, LIMIT };
