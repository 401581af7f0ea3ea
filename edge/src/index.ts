/**
 * The SharpSend edge Worker: one Hono app, one route file per surface. Static files (the widget,
 * the demo page, the panel) are served by the assets binding before this code runs. Every route
 * file takes `Hono` from `hono/tiny` (its pattern router alone; issue 14's bundle budget): one
 * import from `hono` would bring the default's two routers back.
 */
import { Hono } from 'hono/tiny';
import { getPath } from 'hono/utils/url';
import type { AppEnv, Env } from './env.ts';
import { errorResponse } from '#edge/platform/errors.ts';
import { health } from '#edge/platform/health-route.ts';
import { localDemo } from '#edge/platform/local-demo-route.ts';
import { events, postEvents } from '#edge/ingest/events-route.ts';
import { admin } from '#edge/workspaces/admin-route.ts';
import { serverApi } from '#edge/ingest/server-api-route.ts';
import { pixel, pixelHit } from '#edge/email/pixel-route.ts';
import { click } from '#edge/email/click-route.ts';
import { webhooks } from '#edge/email/webhooks-route.ts';
import { emailAdmin } from '#edge/email/email-admin-route.ts';
import { panel } from '#edge/panel/panel-routes.ts';
import { confirm } from '#edge/optin/confirm-route.ts';

export { ReaderObject } from '#edge/readers/reader-object.ts';
export { WorkspaceObject } from '#edge/workspaces/workspace-object.ts';
export { SyncShard } from '#edge/sync/sync-shard.ts';
export { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
export { SendQueue } from '#edge/panel/sends/send-queue.ts';

const app = new Hono<AppEnv>();

app.route('/healthz', health);
app.route('/v1/local/demo', localDemo);
app.route('/v1/events', events);
app.route('/v1/admin', admin);
app.route('/v1/server', serverApi);
app.route('/o', pixel);
app.route('/c', click);
app.route('/confirm', confirm);
app.route('/v1/webhooks', webhooks);
app.route('/v1/admin/workspaces', emailAdmin);
app.route('/v1/panel', panel);

app.notFound((c) => c.json({ error: `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, issues: [] }, 404));

app.onError((error, c) => errorResponse(error, c.req.raw, c.req.path));

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    // The two busiest URLs by far skip the router (its context and match cost some 60-80 µs of
    // a request's CPU, measured): the open pixel (a newsletter burst) and the widget's batches.
    const path = getPath(request);
    if (request.method === 'GET' && path.startsWith('/o/')) return pixelHit(request, env, ctx, path);
    if (request.method === 'POST' && path === '/v1/events') return postEvents(request, env).catch((error: unknown) => errorResponse(error, request, path));
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
