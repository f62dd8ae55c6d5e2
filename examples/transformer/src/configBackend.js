'use strict';
// User-function code from the config backend, as rudder-transformer fetches it
// (src/util/customTransforrmationsStore-v1.js): GET {CONFIG_BACKEND_URL}/transformation/getByVersionId
// and /transformationLibrary/getByVersionId, HTTP Basic user CONFIG_BACKEND_HOSTED_SECRET when set.
// A version id names immutable code, so an answer is cached for the life of the process; a failed
// fetch is not cached (the next event tries again).

class FetchError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status; // the config backend's status, 0 when it was not reached
  }
}

function createStore(env = process.env, fetchImpl = globalThis.fetch) {
  const cache = new Map(); // kind + versionId -> Promise<answer>
  const stats = { fetches: 0 };

  function requestOptions() {
    const secret = (env.CONFIG_BACKEND_HOSTED_SECRET || '').trim();
    if (!secret) return {};
    return { headers: { Authorization: `Basic ${Buffer.from(`${secret}:`).toString('base64')}` } };
  }

  async function fetchAnswer(route, versionId) {
    const base = env.CONFIG_BACKEND_URL;
    if (!base) throw new FetchError('CONFIG_BACKEND_URL is not set: the code of a user function is fetched from it', 0);
    const url = `${base.replace(/\/+$/, '')}${route}?versionId=${encodeURIComponent(versionId)}`;
    stats.fetches++;
    let res;
    try {
      res = await fetchImpl(url, requestOptions());
    } catch (err) {
      throw new FetchError(`the config backend is unreachable (${err.cause ? err.cause.code || err.cause.message : err.message})`, 0);
    }
    if (res.status !== 200) {
      await res.arrayBuffer().catch(() => {});
      throw new FetchError(`the config backend answered ${res.status} for ${route}?versionId=${versionId}`, res.status);
    }
    const answer = await res.json();
    if (!answer || typeof answer.code !== 'string') {
      throw new FetchError(`the config backend's answer for versionId ${versionId} has no code`, res.status);
    }
    return answer;
  }

  function cached(kind, route, versionId) {
    const key = `${kind}:${versionId}`;
    let p = cache.get(key);
    if (!p) {
      p = fetchAnswer(route, versionId);
      p.catch(() => cache.delete(key));
      cache.set(key, p);
    }
    return p;
  }

  return {
    stats,
    transformation: (versionId) => cached('t', '/transformation/getByVersionId', versionId),
    library: (versionId) => cached('l', '/transformationLibrary/getByVersionId', versionId),
  };
}

// camelCase as lodash does it for the names rudder-transformer matches imports against:
// words split at non-alphanumerics and lower-to-upper boundaries; "pii-helpers" -> "piiHelpers".
function camelCase(name) {
  const words = String(name)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  return words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('');
}

module.exports = { createStore, camelCase, FetchError };
