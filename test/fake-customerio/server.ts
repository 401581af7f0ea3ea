// A local stand-in for Customer.io's Track (v1, v2) and App APIs on one origin, as
// customerio-node's `url` option expects: Track at `${url}/api/v1`, v2 at `${url}/api/v2`,
// App at `${url}/v1`. Every request goes through one pipeline:
//   log -> control routes -> injected failures -> auth -> rate limit -> route

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classify, resolveWorkspace, type Classified } from './auth.ts';
import { DEFAULT_LIMITS, DEFAULT_WORKSPACES, FakeState, type FailureRule, type RequestLogEntry, type WorkspaceState } from './state.ts';
import { appCustomersRoutes } from './routes/app-customers.ts';
import { appBroadcastsRoutes } from './routes/app-broadcasts.ts';
import { appCampaignsRoutes } from './routes/app-campaigns.ts';
import { appSegmentsRoutes } from './routes/app-segments.ts';
import { appTransactionalRoutes } from './routes/app-transactional.ts';
import { controlRoutes } from './routes/control.ts';
import { appError, matchRoute, trackError, type Reply, type Route } from './routes/router.ts';
import { trackV1Routes } from './routes/track-v1.ts';
import { trackV2Routes } from './routes/track-v2.ts';

export type { FakeState } from './state.ts';

export interface FakeWorkspace { name: string; siteId: string; trackKey: string; appKey: string }
export interface FakeCustomerIoOptions {
  port?: number;            // 0 = random free port; default 0
  workspaces?: FakeWorkspace[]; // default: demo (demo_site / demo_track_key / demo_app_key) and other (other_site / other_track_key / other_app_key)
  trackPerSecond?: number;  // default 100 (per workspace, Track v1+v2 together)
  appPerSecond?: number;    // default 10 (per workspace, App API)
  broadcastIntervalMs?: number; // default 10000 (one trigger per broadcast per interval)
}
export interface FakeCustomerIo { url: string; port: number; close(): Promise<void>; state: FakeState }

const ROUTES: Record<string, Route[]> = {
  '/api/v1': trackV1Routes,
  '/api/v2': trackV2Routes,
  '/v1': [...appTransactionalRoutes, ...appBroadcastsRoutes, ...appSegmentsRoutes, ...appCustomersRoutes, ...appCampaignsRoutes],
};

export async function createFakeCustomerIo(options: FakeCustomerIoOptions = {}): Promise<FakeCustomerIo> {
  const state = new FakeState(options.workspaces ?? DEFAULT_WORKSPACES, {
    trackPerSecond: options.trackPerSecond ?? DEFAULT_LIMITS.trackPerSecond,
    appPerSecond: options.appPerSecond ?? DEFAULT_LIMITS.appPerSecond,
    broadcastIntervalMs: options.broadcastIntervalMs ?? DEFAULT_LIMITS.broadcastIntervalMs,
  });
  const server = createServer((req, res) => {
    handle(state, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: String(err) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function handle(fake: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const now = fake.now();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const rawBody = await readBody(req);
  const parsed = parseJson(rawBody);
  const where = classify(url.pathname);
  const ws = where.api === 'track' || where.api === 'app' ? resolveWorkspace(fake, where.api, req.headers.authorization) : null;

  const entry: RequestLogEntry = {
    seq: fake.nextLogSeq++,
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    workspace: ws?.config.name ?? null,
    api: where.api,
    body: parsed.ok ? parsed.value : rawBody,
    status: 0,
    at: now,
  };
  fake.log.push(entry);
  const reply = (r: Reply): void => {
    entry.status = r.status;
    if (ws && (where.api === 'track' || where.api === 'app')) fake.rates.noteOutcome(ws.config.name, where.api, fake.now(), r.status);
    send(res, r);
  };

  if (where.api === 'control') {
    const found = matchRoute(controlRoutes, entry.method, where.rest);
    reply(found
      ? found.route.handle({ fake, params: found.params, query: url.searchParams, body: parsed.ok ? parsed.value : undefined, now })
      : { status: 404, body: { error: `no control route ${entry.method} ${where.rest}` } });
    return;
  }
  if (where.api === 'unknown') return reply({ status: 404, body: { error: 'not found' } });
  // Every authenticated request counts toward the "received" peak, whatever happens next.
  if (ws) fake.rates.noteReceived(ws.config.name, where.api, now);

  const failure = takeFailure(fake, where, ws, url.pathname);
  if (failure) {
    if (failure.latencyMs > 0) await new Promise((r) => setTimeout(r, failure.latencyMs));
    if (failure.drop) {
      res.socket?.destroy(); // status stays 0 in the log: no answer was sent
      return;
    }
    // 207 is not an error status: the call goes through and v2 batch refuses its first item.
    if (failure.status !== null && failure.status !== 207 && !failure.afterApply) {
      const injected: Reply = failure.html
        ? { status: failure.status, raw: { contentType: 'text/html; charset=utf-8', text: `<html><body><h1>${failure.status} injected failure</h1></body></html>` } }
        : errorReply(where, failure.status, 'injected failure');
      return reply(failure.status === 429 && !failure.noRetryAfter ? { ...injected, headers: { 'retry-after': String(failure.retryAfterSeconds) } } : injected);
    }
  }

  if (!ws) {
    // Track's 401 body is undocumented ({} is safe); the App API answers JSON:API errors.
    return reply(where.api === 'track' ? { status: 401, body: {} } : appError(401, 'unauthorized'));
  }

  const limit = where.api === 'track' ? fake.limits.trackPerSecond : fake.limits.appPerSecond;
  const decision = fake.rates.limiter(`${ws.config.name}/${where.api}`, limit, 1000).tryAcquire(now);
  if (!decision.ok) {
    const r = errorReply(where, 429, `rate limit exceeded: ${limit} requests per second`);
    return reply({ ...r, headers: { 'retry-after': String(decision.retryAfterSeconds) } });
  }

  if (!parsed.ok) return reply(errorReply(where, 400, 'request body is not valid JSON'));
  const found = matchRoute(ROUTES[where.base] ?? [], entry.method, where.rest);
  if (!found) return reply(errorReply(where, 404, `no route ${entry.method} ${where.base}${where.rest}`));
  const failFirstItem = failure?.status === 207;
  const answer = found.route.handle({ fake, ws, params: found.params, query: url.searchParams, body: parsed.value, rawBody, now, failFirstItem });
  // The call took effect but the caller hears a failure (a gateway timing out in front of it).
  if (failure?.afterApply && failure.status !== null) return reply(errorReply(where, failure.status, 'injected failure after the call was applied'));
  reply(answer);
}

function errorReply(where: Classified, status: number, message: string): Reply {
  return where.api === 'track' ? trackError(status, [message]) : appError(status, message);
}

/** The first queued failure rule matching this call; consumes one of its uses. */
function takeFailure(fake: FakeState, where: Classified, ws: WorkspaceState | null, path: string): FailureRule | null {
  const index = fake.failures.findIndex((f) =>
    (f.api === 'any' || f.api === where.api) && (f.workspace === null || f.workspace === ws?.config.name) && (f.path === null || path.startsWith(f.path)));
  const rule = fake.failures[index];
  if (!rule) return null;
  rule.remaining--;
  if (rule.remaining <= 0) fake.failures.splice(index, 1);
  return rule;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  if (raw.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

function send(res: ServerResponse, r: Reply): void {
  const headers: Record<string, string> = { ...r.headers };
  if (r.raw) {
    headers['content-type'] = r.raw.contentType;
    res.writeHead(r.status, headers).end(r.raw.text);
    return;
  }
  if (r.status === 204 || r.body === undefined) {
    res.writeHead(r.status, headers).end();
    return;
  }
  const text = JSON.stringify(r.body);
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(r.status, headers).end(text);
}
