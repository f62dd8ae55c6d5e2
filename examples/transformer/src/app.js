'use strict';
// The Koa app: the subset of rudder-transformer's HTTP contract rudderctl needs for demos and tests.
const Koa = require('koa');
const Router = require('@koa/router');
const { jsonBody } = require('./body');
const dest = require('./destinations');
const { customTransform, FetchError } = require('./functions');
const { createStore } = require('./configBackend');
const testRoutes = require('./testRoutes');

const FEATURES = {
  routerTransform: { WEBHOOK: true },
  regulations: [],
  supportSourceTransformV1: true,
  supportTransformerProxyV1: true,
  upgradedToSourceTransformV2: true,
};

function createApp(env = process.env) {
  const app = new Koa();
  const router = new Router();
  const functionsEnabled = env.ENABLE_FUNCTIONS !== 'false';
  const codeStore = createStore(env);

  app.on('error', (err, ctx) => {
    if (err.status && err.status < 500) return;
    console.error(`example transformer: ${ctx ? ctx.method + ' ' + ctx.path : ''}: ${err.stack || err}`);
  });

  // rudder-server requires `apiVersion: 2` on every 200 from the transformer. In an ECS
  // task (ECS sets ECS_CONTAINER_METADATA_URI_V4), X-Served-By names the task that answered:
  // the host name and the address and port it was reached on (the task's own address), so
  // a test behind the load balancer can tell tasks apart.
  const inECS = Boolean(env.ECS_CONTAINER_METADATA_URI_V4);
  const host = require('node:os').hostname();
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 200) ctx.set('apiVersion', '2');
    const s = ctx.req.socket;
    if (inECS && s && s.localAddress) ctx.set('X-Served-By', `${host}/${s.localAddress}:${s.localPort}`);
  });

  router.get('/health', (ctx) => {
    ctx.body = { service: 'UP', app: 'rudderctl-example-transformer' };
  });

  router.get('/features', (ctx) => {
    ctx.body = FEATURES;
  });

  router.post('/:version/destinations/:destination', async (ctx) => {
    const transform = dest.lookup(ctx.params.destination);
    if (!transform) {
      ctx.status = 404;
      ctx.body = { error: `Unknown destination: ${ctx.params.destination}` };
      return;
    }
    const events = await jsonBody(ctx);
    if (!Array.isArray(events)) ctx.throw(400, 'the body must be an array of {message, destination, metadata}');
    ctx.body = dest.processorTransform(transform, events);
  });

  router.post('/routerTransform', async (ctx) => {
    const body = await jsonBody(ctx);
    const transform = dest.lookup(body && body.destType);
    if (!transform) {
      ctx.status = 404;
      ctx.body = { error: `Unknown destination: ${body && body.destType}` };
      return;
    }
    if (!Array.isArray(body.input)) ctx.throw(400, 'input must be an array');
    ctx.body = { output: dest.routerTransform(transform, body.input) };
  });

  router.post('/customTransform', async (ctx) => {
    if (!functionsEnabled) {
      ctx.status = 404;
      ctx.body = 'RouteActivationMiddleware route is disabled';
      return;
    }
    const events = await jsonBody(ctx);
    if (!Array.isArray(events)) ctx.throw(400, 'the body must be an array of events');
    try {
      ctx.body = await customTransform(events, codeStore);
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      ctx.status = 503;
      ctx.body = { error: err.message };
    }
  });

  if (env.RUDDERCTL_EXAMPLE_TEST_ROUTES === 'true') testRoutes.register(router);

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

module.exports = { createApp, FEATURES };
