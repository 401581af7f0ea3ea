// The `/_fake/` control surface: no auth, JSON in and out. Tests use it to reset, inject failures,
// change limits, seed data and read back what the fake received and holds.

import { identify } from '../people.ts';
import { suppressionKey, type FailureRule, type FakeState, type Limits, type WorkspaceState } from '../state.ts';
import { isPlainObject, refFromPath } from '../validate.ts';
import { identifiersOf, personDebugView, segmentView } from '../views.ts';
import { broadcastView, triggerView } from './app-broadcasts.ts';
import { ok, type Reply, type Route } from './router.ts';

export interface ControlContext {
  fake: FakeState;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  now: number;
}

const YEAR_MS = 365 * 24 * 3600_000;
const bad = (message: string): Reply => ({ status: 400, body: { error: message } });
const notFound = (message: string): Reply => ({ status: 404, body: { error: message } });

/** Workspace from `?workspace=` or a body field; the first configured one when omitted. */
function workspaceOf(ctx: ControlContext, name: unknown): WorkspaceState | Reply {
  const wanted = typeof name === 'string' && name !== '' ? name : ctx.fake.workspaceConfigs[0]?.name;
  const ws = wanted === undefined ? undefined : ctx.fake.workspace(wanted);
  return ws ?? notFound(`unknown workspace ${String(wanted)}`);
}
const isReply = (v: WorkspaceState | Reply): v is Reply => 'status' in v;
const queryWs = (ctx: ControlContext) => workspaceOf(ctx, ctx.query.get('workspace'));
const bodyObj = (ctx: ControlContext): Record<string, unknown> => (isPlainObject(ctx.body) ? ctx.body : {});

/** Limits from a body, checked; unknown or invalid values are refused rather than ignored. */
function limitsFrom(body: Record<string, unknown>): Partial<Limits> | string {
  const out: Partial<Limits> = {};
  for (const key of ['trackPerSecond', 'appPerSecond', 'broadcastIntervalMs'] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return `${key} must be a positive integer`;
    out[key] = v;
  }
  return out;
}

function addFailure(ctx: ControlContext): Reply {
  const b = bodyObj(ctx);
  const count = b.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return bad('count must be a positive integer');
  if (b.status !== undefined && (typeof b.status !== 'number' || b.status < 100 || b.status > 599)) return bad('status must be an HTTP status');
  if (b.latencyMs !== undefined && (typeof b.latencyMs !== 'number' || b.latencyMs < 0)) return bad('latencyMs must be >= 0');
  const api = b.api ?? 'any';
  if (api !== 'track' && api !== 'app' && api !== 'any') return bad('api must be track, app or any');
  if (b.status === undefined && b.latencyMs === undefined && b.drop !== true) return bad('give status, latencyMs or drop');
  if (b.path !== undefined && (typeof b.path !== 'string' || !b.path.startsWith('/'))) return bad('path must be a path prefix starting with /');
  const retryAfter = b.retryAfter ?? 1;
  if (typeof retryAfter !== 'number' || !Number.isInteger(retryAfter) || retryAfter < 1) return bad('retryAfter must be a positive whole number of seconds');
  const rule: FailureRule = {
    status: typeof b.status === 'number' ? b.status : null,
    remaining: count,
    latencyMs: typeof b.latencyMs === 'number' ? b.latencyMs : 0,
    drop: b.drop === true,
    api,
    workspace: typeof b.workspace === 'string' ? b.workspace : null,
    path: typeof b.path === 'string' ? b.path : null,
    html: b.html === true,
    noRetryAfter: b.noRetryAfter === true,
    retryAfterSeconds: retryAfter,
    afterApply: b.afterApply === true,
  };
  ctx.fake.failures.push(rule);
  return ok({ failures: ctx.fake.failures });
}

function requests(ctx: ControlContext): Reply {
  const { workspace, api, path_prefix: prefix, since } = Object.fromEntries(ctx.query);
  const after = since === undefined ? 0 : Number(since);
  const list = ctx.fake.log.filter((e) =>
    e.seq > after &&
    (workspace === undefined || e.workspace === workspace) &&
    (api === undefined || e.api === api) &&
    (prefix === undefined || e.path.startsWith(prefix)));
  return ok({ requests: list });
}

function rates(ctx: ControlContext): Reply {
  const workspaces: Record<string, unknown> = {};
  for (const name of ctx.fake.workspaces.keys()) {
    workspaces[name] = {
      track: { ...ctx.fake.rates.rates(name, 'track'), limitPerSecond: ctx.fake.limits.trackPerSecond },
      app: { ...ctx.fake.rates.rates(name, 'app'), limitPerSecond: ctx.fake.limits.appPerSecond },
    };
  }
  return ok({ limits: ctx.fake.limits, workspaces });
}

function person(ctx: ControlContext): Reply {
  const ws = workspaceOf(ctx, ctx.params.workspace);
  if (isReply(ws)) return ws;
  const ref = refFromPath(ctx.params.identifier ?? '');
  const found = ws.find(ref);
  if (found) return ok(personDebugView(ws, found));
  // Suppressed people are deleted, but the block on their identifier is still worth seeing.
  if (ws.suppressed.has(suppressionKey(ref))) return ok({ [ref.kind]: ref.value, suppressed: true, deleted: true, attributes: {}, events: [], segments: [] });
  return notFound('person not found');
}

function seedPeople(ctx: ControlContext): Reply {
  const b = bodyObj(ctx);
  const ws = workspaceOf(ctx, b.workspace);
  if (isReply(ws)) return ws;
  if (!Array.isArray(b.people)) return bad('people must be an array');
  let applied = 0;
  for (const entry of b.people) {
    if (!isPlainObject(entry)) return bad('each person must be an object');
    const { id, email } = entry;
    const attributes = isPlainObject(entry.attributes) ? entry.attributes : {};
    if (typeof id !== 'string' && typeof email !== 'string') return bad('each person needs id or email');
    const ref = typeof id === 'string' ? { kind: 'id' as const, value: id } : { kind: 'email' as const, value: email as string };
    const body = { ...attributes, ...(typeof email === 'string' ? { email } : {}) };
    if (identify(ws, { ref, body }, ctx.now)) applied++;
  }
  return ok({ applied, total: ws.people.size });
}

function seedSegment(ctx: ControlContext): Reply {
  const b = bodyObj(ctx);
  const ws = workspaceOf(ctx, b.workspace);
  if (isReply(ws)) return ws;
  if (typeof b.name !== 'string' || b.name === '') return bad('name is required');
  const type = b.type ?? 'manual';
  if (type !== 'manual' && type !== 'dynamic') return bad('type must be manual or dynamic');
  const segment = ws.addSegment(b.name, typeof b.description === 'string' ? b.description : '', type, ctx.now);
  for (const identifier of Array.isArray(b.members) ? b.members : []) {
    const p = ws.find(refFromPath(String(identifier)));
    if (p) segment.members.add(p.cioId);
  }
  return ok({ segment: segmentView(segment) });
}

function addBroadcast(ctx: ControlContext): Reply {
  const b = bodyObj(ctx);
  const ws = workspaceOf(ctx, b.workspace);
  if (isReply(ws)) return ws;
  if (typeof b.name !== 'string' || b.name === '') return bad('name is required');
  const taken = new Set([...ws.broadcasts.keys(), ...ws.campaigns.keys()]);
  const id = typeof b.id === 'number' ? b.id : Math.max(0, ...taken) + 1;
  if (!Number.isInteger(id) || id < 1 || taken.has(id)) return bad(`id ${id} is invalid or taken`);
  const broadcast = { id, name: b.name, createdAt: Math.floor(ctx.now / 1000) };
  ws.broadcasts.set(id, broadcast);
  return ok({ broadcast: broadcastView(broadcast) });
}

/** Read-only listing of one workspace collection. */
function list(read: (ws: WorkspaceState) => Record<string, unknown>) {
  return (ctx: ControlContext): Reply => {
    const ws = queryWs(ctx);
    return isReply(ws) ? ws : ok(read(ws));
  };
}

export const controlRoutes: Route<ControlContext>[] = [
  { method: 'GET', path: '/healthz', handle: () => ok({ ok: true }) },
  { method: 'GET', path: '/requests', handle: requests },
  {
    method: 'POST', path: '/reset', handle: (ctx) => {
      const limits = limitsFrom(bodyObj(ctx));
      if (typeof limits === 'string') return bad(limits);
      const offset = bodyObj(ctx).clockOffsetMs ?? 0;
      if (typeof offset !== 'number' || !Number.isInteger(offset) || Math.abs(offset) > YEAR_MS) return bad('clockOffsetMs must be an integer of at most a year either way');
      ctx.fake.reset(limits, offset);
      return ok({ limits: ctx.fake.limits, clockOffsetMs: ctx.fake.clockOffsetMs });
    },
  },
  { method: 'POST', path: '/failures', handle: addFailure },
  { method: 'GET', path: '/failures', handle: (ctx) => ok({ failures: ctx.fake.failures }) },
  {
    method: 'DELETE', path: '/failures', handle: (ctx) => {
      ctx.fake.failures = [];
      return ok({ failures: [] });
    },
  },
  {
    method: 'POST', path: '/limits', handle: (ctx) => {
      const limits = limitsFrom(bodyObj(ctx));
      if (typeof limits === 'string') return bad(limits);
      Object.assign(ctx.fake.limits, limits);
      return ok({ limits: ctx.fake.limits });
    },
  },
  {
    method: 'POST', path: '/batch-order', handle: (ctx) => {
      const order = bodyObj(ctx).order;
      if (order !== 'in_order' && order !== 'reverse') return bad('order must be in_order or reverse');
      ctx.fake.batchOrder = order;
      return ok({ order });
    },
  },
  { method: 'GET', path: '/rates', handle: rates },
  { method: 'GET', path: '/people', handle: list((ws) => ({ people: ws.peopleInOrder().map((p) => personDebugView(ws, p)) })) },
  { method: 'GET', path: '/people/:workspace/:identifier', handle: person },
  { method: 'POST', path: '/people', handle: seedPeople },
  {
    method: 'GET', path: '/segments', handle: list((ws) => ({
      segments: [...ws.segments.values()].map((s) => ({
        ...segmentView(s),
        members: ws.peopleInOrder().filter((p) => s.members.has(p.cioId)).map(identifiersOf),
      })),
    })),
  },
  { method: 'POST', path: '/segments', handle: seedSegment },
  {
    method: 'GET', path: '/broadcasts/triggers', handle: list((ws) => ({
      triggers: ws.triggers.map((t) => ({ ...triggerView(t), audience: t.audience, recipients: t.recipients, data: t.data, body: t.body })),
    })),
  },
  { method: 'GET', path: '/broadcasts', handle: list((ws) => ({ broadcasts: [...ws.broadcasts.values()].map(broadcastView) })) },
  { method: 'POST', path: '/broadcasts', handle: addBroadcast },
  { method: 'GET', path: '/deliveries', handle: list((ws) => ({ deliveries: ws.deliveries })) },
  { method: 'GET', path: '/merges', handle: list((ws) => ({ merges: ws.merges })) },
  {
    method: 'GET', path: '/objects', handle: list((ws) => ({
      objects: [...ws.objects.values()].map((o) => ({
        objectTypeId: o.objectTypeId, objectId: o.objectId, attributes: o.attributes,
        people: [...o.relationships].map((cioId) => ws.people.get(cioId)).filter((p) => p !== undefined).map(identifiersOf),
      })),
    })),
  },
  {
    // Where a workspace's reporting webhooks go, and the secret they are signed with.
    method: 'PUT', path: '/webhooks/:workspace', handle: (ctx) => {
      const ws = workspaceOf(ctx, ctx.params.workspace);
      if (isReply(ws)) return ws;
      const b = bodyObj(ctx);
      if (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url)) return bad('url must be an http(s) URL');
      if (typeof b.secret !== 'string' || b.secret.length < 16) return bad('secret must be at least 16 characters');
      ctx.fake.webhooks.targets.set(ws.config.name, { url: b.url, secret: b.secret });
      return ok({ workspace: ws.config.name, url: b.url });
    },
  },
  { method: 'GET', path: '/webhooks', handle: (ctx) => ok({ pending: ctx.fake.webhooks.pending, sent: ctx.fake.webhooks.log }) },
  {
    // Customer.io's own tracking saw an open or a click of a delivery the fake made.
    method: 'POST', path: '/webhooks/emit', handle: (ctx) => {
      const b = bodyObj(ctx);
      if (typeof b.deliveryId !== 'string') return bad('deliveryId is required');
      if (typeof b.metric !== 'string' || !/^[a-z_]{1,40}$/.test(b.metric)) return bad('metric must be a reporting metric such as opened or clicked');
      const extra = isPlainObject(b.data) ? b.data : {};
      return ctx.fake.webhooks.emit(b.deliveryId, b.metric, ctx.now, extra) ? ok({ emitted: b.metric }) : notFound(`no delivery ${b.deliveryId}`);
    },
  },
  {
    method: 'GET', path: '/anonymous', handle: list((ws) => ({
      pending: Object.fromEntries(ws.anonymousEvents), used: [...ws.usedAnonymousIds], invites: ws.inviteEvents,
    })),
  },
];
