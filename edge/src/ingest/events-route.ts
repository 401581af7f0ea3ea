/**
 * POST /v1/events: the widget's batches. Validated with the shared schemas, checked against the
 * workspace's allowed origins, then split by anonymous reader: each reader's events go to that
 * reader's own object, and nothing else is touched on the way. A batch of one `grant` event is
 * a click grant's redemption instead (identity/redeem-grant.ts).
 */
import { Hono } from 'hono/tiny';
import type { AppEnv, Env } from '#edge/env.ts';
import { type ReaderEvent, eventBatchSchema, grantRedemptionSchema } from '#shared/protocol.ts';
import { MAX_EVENTS_BODY_BYTES } from '#shared/constants.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import { allowRequest } from '#edge/platform/flood-guard.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { ingestEvents } from '#edge/readers/access.ts';
import { anonymousKey } from '#edge/readers/names.ts';
import { corsHeaders, requestOrigin } from '#edge/platform/cors.ts';
import { originAllowed } from '#shared/origins.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import { redeemGrant } from '#edge/identity/redeem-grant.ts';
import { plainPageBatch } from './page-batch.ts';

/** Browser clocks drift; a batch from far in the future is a bug or a forgery. */
const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;
/** The widget keeps failed batches for retry on a later visit, for a while. */
const MAX_EVENT_AGE_MS = 30 * 24 * 3600 * 1000;

export const events = new Hono<AppEnv>();

events.options('/', async (c) => {
  // A preflight carries no body, so no workspace: `?workspace=` makes it strict, else the POST is.
  const origin = requestOrigin(c.req.raw);
  const workspaceId = c.req.query('workspace');
  if (workspaceId) {
    const ws = await edgeWorkspace(c.env, workspaceId);
    if (!ws || !origin || !originAllowed(origin, ws.allowedOrigins)) return c.body(null, 403);
  }
  return c.body(null, 204, corsHeaders(origin, true));
});

events.post('/', (c) => postEvents(c.req.raw, c.env));

/**
 * The batch's handling, a plain function: the Worker's entry calls it before the router (index.ts),
 * and its errors go to `errorResponse` as the router's would.
 */
export async function postEvents(request: Request, env: Env): Promise<Response> {
  const origin = requestOrigin(request);
  const ip = request.headers.get('cf-connecting-ip') ?? undefined;
  const raw = await readJson(request, MAX_EVENTS_BODY_BYTES);
  if (isGrantBatch(raw)) {
    // A click grant's redemption (identity/redeem-grant.ts): a batch of exactly one `grant` event.
    const redemption = parseOr400(grantRedemptionSchema, raw, 'grant redemption');
    const ws = await allowedWorkspace(env, redemption.workspace, origin, ip);
    return Response.json(await redeemGrant(env, ws, redemption, Date.now()), { status: 200, headers: corsHeaders(origin, false) });
  }
  // Page reads, most batches, are checked without zod (page-batch.ts); the rest, and every bad field, by it.
  const batch = plainPageBatch(raw) ?? parseOr400(eventBatchSchema, raw, 'event batch');
  const now = Date.now();
  const future = batch.events.flatMap((e, i) =>
    e.ts > now + MAX_CLOCK_SKEW_MS ? [{ path: `events.${i}.ts`, message: 'is in the future (milliseconds since the epoch expected)' }] : []);
  if (future.length) throw new ClientError(400, 'Invalid event batch', future);
  // An event that waited offline too long is refused on its own; its fresh batch-mates still count.
  const rejected = batch.events.flatMap((e, i) =>
    e.ts < now - MAX_EVENT_AGE_MS ? [{ path: `events.${i}.ts`, message: 'is older than 30 days (milliseconds since the epoch expected)' }] : []);
  const fresh = batch.events.filter((e) => e.ts >= now - MAX_EVENT_AGE_MS);
  if (fresh.length === 0) throw new ClientError(400, 'Invalid event batch', rejected);

  const ws = await allowedWorkspace(env, batch.workspace, origin, ip);

  const byReader = new Map<string, ReaderEvent[]>();
  for (const event of fresh) {
    const list = byReader.get(event.anonymousId) ?? [];
    list.push(event);
    byReader.set(event.anonymousId, list);
  }
  const edgeOrigin = new URL(request.url).origin;
  const results = await Promise.all([...byReader].map(([anonymousId, list]) => {
    const key = anonymousKey(anonymousId);
    return ingestEvents(env, ws, key, list, edgeOrigin);
  }));
  const accepted = results.reduce((n, r) => n + r.accepted, 0);
  const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
  // `confirm`: a sign-up here waits for its confirmation email (double opt-in); the form says so.
  const confirm = results.some((r) => r.pending);
  return Response.json({ accepted, duplicates, ...(confirm ? { confirm } : {}), ...(rejected.length ? { rejected } : {}) }, { status: 202, headers: corsHeaders(origin, false) });
}

/** The loader sends a grant alone, so a batch whose first event is one is a redemption. */
function isGrantBatch(raw: unknown): boolean {
  const events = (raw as { events?: unknown } | null)?.events;
  return Array.isArray(events) && (events[0] as { type?: unknown } | null)?.type === 'grant';
}

/** The workspace, when it exists, the request comes from one of its origins and the client is not flooding. */
async function allowedWorkspace(env: Env, id: string, origin: string | null, ip: string | undefined): Promise<EdgeWorkspace> {
  const ws = await edgeWorkspace(env, id);
  if (!ws) throw new ClientError(404, `Unknown workspace "${id}"`, [{ path: 'workspace', message: 'no such workspace' }]);
  if (!origin) throw new ClientError(403, 'Missing Origin header: events are accepted from the workspace\'s allowed origins only', [{ path: 'Origin', message: 'missing' }]);
  if (!originAllowed(origin, ws.allowedOrigins)) {
    throw new ClientError(403, `Origin ${origin} is not allowed for workspace "${ws.id}"`, [{ path: 'Origin', message: `not in the workspace's allowed origins` }]);
  }
  if (!allowRequest(`${ws.id}|${ip ?? 'local'}`, ws.limits.ingestPerClientPerSecond)) {
    throw new ClientError(429, 'Too many requests from this client; slow down', [], { 'retry-after': '1' });
  }
  return ws;
}
