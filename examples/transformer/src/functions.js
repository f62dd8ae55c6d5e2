'use strict';
// User functions ("custom transformations") run in isolated-vm, as in rudder-transformer. Code
// comes from the config backend by version id, as the real one fetches it, or (our extension,
// for tests without a backend) inline in the request (see README).
const crypto = require('node:crypto');
const ivm = require('isolated-vm');
const { FetchError, camelCase } = require('./configBackend');

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

// A fetched function is an ES module (`export function transformEvent`) that may import the
// workspace's libraries by camelCase(name). A glue module imports it and exposes one entry point.
const GLUE = `import * as user from "rudderctl:user";
globalThis.__rudderctlRun = async function (eventJSON, metadataJSON) {
  const metadata = JSON.parse(metadataJSON);
  const event = JSON.parse(eventJSON);
  let out;
  if (typeof user.transformEvent === "function") {
    out = await user.transformEvent(event, () => metadata);
  } else if (typeof user.transformBatch === "function") {
    out = await user.transformBatch([event], () => metadata);
  } else {
    throw new Error("the function exports neither transformEvent nor transformBatch");
  }
  return JSON.stringify(out === undefined ? null : out);
};`;

async function compileModules(transformation, libraries) {
  const isolate = new ivm.Isolate({ memoryLimit: MEMORY_MB });
  try {
    const context = await isolate.createContext();
    await context.global.set('log', new ivm.Callback(() => {}));
    const byName = new Map(libraries.map((l) => [camelCase(l.name), l]));
    const compiled = new Map(); // specifier -> Promise<Module>
    const load = (specifier) => {
      let m = compiled.get(specifier);
      if (m) return m;
      let code;
      if (specifier === 'rudderctl:user') code = transformation.code;
      else if (byName.has(specifier)) code = byName.get(specifier).code;
      else throw new Error(`import from "${specifier}": no library of that name in this workspace`);
      m = isolate.compileModule(code, { filename: specifier === 'rudderctl:user' ? `${transformation.name || 'transformation'}.js` : `${specifier}.js` });
      compiled.set(specifier, m);
      return m;
    };
    const glue = await isolate.compileModule(GLUE, { filename: 'rudderctl-glue.js' });
    await glue.instantiate(context, (specifier) => load(specifier));
    await glue.evaluate({ timeout: TIMEOUT_MS });
    const run = await context.global.get('__rudderctlRun', { reference: true });
    return { isolate, context, run };
  } catch (err) {
    isolate.dispose();
    throw err;
  }
}

const moduleRunners = new Map(); // versionId + library versionIds -> Promise<runner>

// fetchedRunner fetches (once, through the store's cache) the function and every library the
// request names, then compiles them once per combination.
function fetchedRunner(store, versionId, libraryIds) {
  const key = [versionId, ...[...libraryIds].sort()].join(',');
  let r = moduleRunners.get(key);
  if (!r) {
    r = (async () => {
      const [transformation, ...libraries] = await Promise.all([store.transformation(versionId), ...libraryIds.map((id) => store.library(id))]);
      return compileModules(transformation, libraries);
    })();
    r.catch(() => moduleRunners.delete(key));
    moduleRunners.set(key, r);
    if (moduleRunners.size > MAX_CACHED) {
      const [oldest] = moduleRunners.keys();
      const old = moduleRunners.get(oldest);
      moduleRunners.delete(oldest);
      old.then((o) => o.isolate.dispose()).catch(() => {});
    }
  }
  return r;
}

// The version id as rudder-server sends it: destination.Transformations[0].VersionID.
function versionIdOf(ev) {
  const t = ev && ev.destination && Array.isArray(ev.destination.Transformations) && ev.destination.Transformations[0];
  return (t && t.VersionID) || (ev && ev.transformation && ev.transformation.versionId) || '';
}

// customTransform: [{message, metadata, destination: {Transformations: [{VersionID}]}, libraries:
//   [{VersionID}]}] (rudder-server's request; code fetched by version id), or events carrying
//   transformation: {versionId, code} (inline code, no backend) -> [{output, metadata, statusCode}]
//   (or {error, metadata, statusCode: 400}); a transformation that returns null/undefined drops
//   the event; one that returns an array yields one output each. A config backend that cannot
//   answer (unreachable, 5xx, 401/403) fails the whole request with a FetchError: the caller
//   answers 503 so rudder-server retries.
async function customTransform(events, store) {
  const out = [];
  const libraryIds = (events.length && Array.isArray(events[0].libraries) ? events[0].libraries : [])
    .map((l) => l && l.VersionID)
    .filter(Boolean);
  for (const ev of events) {
    const inline = ev && ev.transformation && ev.transformation.code;
    const metadata = (ev && ev.metadata) || {};
    let run;
    try {
      if (typeof inline === 'string') {
        ({ run } = await runner(inline));
      } else {
        const versionId = versionIdOf(ev);
        if (!versionId) {
          out.push({ metadata, statusCode: 400, error: 'Transformation VersionID not found' });
          continue;
        }
        ({ run } = await fetchedRunner(store, versionId, libraryIds));
      }
    } catch (err) {
      if (err instanceof FetchError && err.status !== 404) throw err;
      out.push({ metadata, statusCode: 400, error: String((err && err.message) || err) });
      continue;
    }
    try {
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

module.exports = { customTransform, FetchError };
