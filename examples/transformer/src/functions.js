'use strict';
// User functions ("custom transformations") run in isolated-vm, as in rudder-transformer. The
// real one fetches code from the control plane; ours takes it from the request (see README).
const crypto = require('node:crypto');
const ivm = require('isolated-vm');

const MEMORY_MB = Number(process.env.ISOLATE_VM_MEMORY || 128);
const TIMEOUT_MS = Number(process.env.IVM_EXECUTION_TIMEOUT || 4000);
const MAX_CACHED = 16;

const cache = new Map(); // sha256(code) -> Promise<runner>

// Wraps the user's code: it must define transformEvent(event, metadata) (sync or async), where
// metadata is a function returning the event's metadata, like RudderStack's.
function wrap(code) {
  const src = code.replace(/^\s*export\s+(?=(async\s+)?function\b)/gm, '');
  return `${src}
;globalThis.__rudderctlRun = async function (eventJSON, metadataJSON) {
  const metadata = JSON.parse(metadataJSON);
  const out = await transformEvent(JSON.parse(eventJSON), () => metadata);
  return JSON.stringify(out === undefined ? null : out);
};`;
}

async function compile(code) {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_MB });
  try {
    const context = await isolate.createContext();
    await context.global.set('globalThis', context.global.derefInto());
    const logs = [];
    await context.global.set(
      'log',
      new ivm.Callback((...args) => {
        if (logs.length < 100) logs.push(args.map(String).join(' '));
      }),
    );
    const script = await isolate.compileScript(wrap(code), { filename: 'transformation.js' });
    await script.run(context, { timeout: TIMEOUT_MS });
    const run = await context.global.get('__rudderctlRun', { reference: true });
    if (run.typeof !== 'function') throw new Error('transformEvent is not defined');
    return { isolate, context, run };
  } catch (err) {
    isolate.dispose();
    throw err;
  }
}

function runner(code) {
  const key = crypto.createHash('sha256').update(code).digest('hex');
  let r = cache.get(key);
  if (!r) {
    r = compile(code);
    r.catch(() => cache.delete(key));
    cache.set(key, r);
    if (cache.size > MAX_CACHED) {
      const [oldest] = cache.keys();
      const old = cache.get(oldest);
      cache.delete(oldest);
      old.then((o) => o.isolate.dispose()).catch(() => {});
    }
  }
  return r;
}

// customTransform: [{message, metadata, destination, transformation:{versionId, code}}]
//   -> [{output, metadata, statusCode}] (or {error, metadata, statusCode: 400}); a transformation
//   that returns null/undefined drops the event; one that returns an array yields one output each.
async function customTransform(events) {
  const out = [];
  for (const ev of events) {
    const code = ev && ev.transformation && ev.transformation.code;
    const metadata = (ev && ev.metadata) || {};
    if (typeof code !== 'string') {
      out.push({ metadata, statusCode: 400, error: 'transformation.code is missing' });
      continue;
    }
    try {
      const { run } = await runner(code);
      const json = await run.apply(undefined, [JSON.stringify(ev.message || {}), JSON.stringify(metadata)], {
        timeout: TIMEOUT_MS,
        result: { promise: true, copy: true },
      });
      const result = JSON.parse(json);
      if (result === null) continue;
      for (const o of Array.isArray(result) ? result : [result]) {
        out.push({ output: o, metadata, statusCode: 200 });
      }
    } catch (err) {
      out.push({ metadata, statusCode: 400, error: String((err && err.message) || err) });
    }
  }
  return out;
}

module.exports = { customTransform };
