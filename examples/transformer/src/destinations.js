'use strict';
// Destination transforms: only `webhook`, shaped like rudder-transformer's output.

function webhookTransform(message, destination) {
  const config = (destination && destination.Config) || {};
  const url = config.webhookUrl;
  if (!url || typeof url !== 'string') {
    const err = new Error('Invalid webhook URL: destination.Config.webhookUrl is required');
    err.statusCode = 400;
    throw err;
  }
  const headers = { 'content-type': 'application/json' };
  for (const h of config.headers || []) {
    if (h && h.from) headers[h.from] = h.to;
  }
  return {
    version: '1',
    type: 'REST',
    method: (config.webhookMethod || 'POST').toUpperCase(),
    endpoint: url,
    headers,
    params: {},
    body: { JSON: message, JSON_ARRAY: {}, XML: {}, FORM: {} },
    files: {},
    userId: message.userId || message.anonymousId || '',
  };
}

const destinations = { webhook: webhookTransform };

function lookup(name) {
  return destinations[String(name || '').toLowerCase()];
}

// processorTransform: [{message, destination, metadata}] -> [{output, metadata, statusCode}]
function processorTransform(transform, events) {
  return events.map((ev) => {
    try {
      return { output: transform(ev.message || {}, ev.destination), metadata: ev.metadata, statusCode: 200 };
    } catch (err) {
      return { metadata: ev.metadata, statusCode: err.statusCode || 500, error: err.message };
    }
  });
}

// routerTransform: {input:[{message, destination, metadata}], destType} -> {output:[...]}
function routerTransform(transform, input) {
  return input.map((ev) => {
    try {
      return {
        batchedRequest: transform(ev.message || {}, ev.destination),
        metadata: [ev.metadata],
        destination: ev.destination,
        batched: false,
        statusCode: 200,
      };
    } catch (err) {
      return {
        metadata: [ev.metadata],
        destination: ev.destination,
        batched: false,
        statusCode: err.statusCode || 500,
        error: err.message,
      };
    }
  });
}

module.exports = { lookup, processorTransform, routerTransform };
