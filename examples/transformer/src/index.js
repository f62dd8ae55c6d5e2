'use strict';
// Entry point: listen on $PORT, a TCP port number or a unix socket path (how rudderctl's Lambda
// adapter can skip TCP). A TCP port is bound on loopback only (the adapter connects to
// 127.0.0.1); HOST widens it (HOST=0.0.0.0 for every interface). One process, no cluster:
// CLUSTER_ENABLED is accepted and ignored.
const fs = require('node:fs');
const { createApp } = require('./app');

const port = process.env.PORT || '9090';
const host = process.env.HOST || '127.0.0.1';
const app = createApp();
const server = require('node:http').createServer(app.callback());

let target = { path: port };
if (/^\d+$/.test(port)) {
  target = { port: Number(port), host };
} else {
  try {
    fs.unlinkSync(port); // a stale socket from an earlier run would make listen fail
  } catch {}
}

server.listen(target, () => {
  const a = server.address();
  console.log(`example transformer listening on ${typeof a === 'string' ? a : `${a.address}:${a.port}`}`);
});

function shutdown(signal) {
  console.log(`example transformer: ${signal}, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
