'use strict';
// Listens on $PORT (a port number or a unix socket path) and answers /health and /greet/<name>.
const http = require('node:http');
const { helper } = require('../test/helper'); // the app's own dist/test/, as rudder-transformer's testHelper.js
const { parse } = require('docyaml'); // its code lives in dist/doc/, as yaml's does

// Handlers are loaded the way rudder-transformer loads destinations: a template require.
const handlers = {};
for (const name of ['greet', 'bye']) {
  handlers[name] = require(`../handlers/${name}/handler`);
}

const port = process.env.PORT || '9090';
http
  .createServer((req, res) => {
    const [, route, arg] = req.url.split('/');
    if (route === 'health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, helper: helper(), doc: parse('answer: 42') }));
      return;
    }
    if (handlers[route]) {
      res.end(handlers[route](arg));
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  })
  .listen(/^\d+$/.test(port) ? Number(port) : port, () => console.log(`smokeapp listening on ${port}`));
