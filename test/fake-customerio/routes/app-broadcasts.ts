// API-triggered broadcasts. Broadcasts themselves are made in the UI (seeded in state.ts, or via
// /_fake/broadcasts); the API triggers them and reads them back.
//
// Trigger rules ([APP] triggerBroadcast, api-triggered-errors): exactly one audience form;
// people named by ids/emails must exist unless *_ignore_missing; `{}` recipients is a 422;
// one trigger per broadcast per broadcastIntervalMs, else 429 + Retry-After. Whether the real
// limit counts refused attempts is UNCONFIRMED: the fake takes the strict reading and counts
// every trigger attempt on a known broadcast that is not itself answered 429.

import { compileFilter } from '../audience.ts';
import type { Broadcast, BroadcastTrigger, Person } from '../state.ts';
import { randomBytes } from 'node:crypto';
import { isPlainObject, LIMITS, EMAIL_DISABLED } from '../validate.ts';
import { appError, intParam, ok, type Reply, type Route, type RouteContext } from './router.ts';

const AUDIENCE_FORMS = ['recipients', 'ids', 'emails', 'per_user_data', 'data_file_url'] as const;

function findBroadcast(ctx: RouteContext): Broadcast | Reply {
  const id = intParam(ctx.params.id);
  const broadcast = id === null ? undefined : ctx.ws.broadcasts.get(id);
  return broadcast ?? appError(404, `not found (reference broadcast ${ctx.params.id ?? ''})`);
}

const isReply = (v: Broadcast | Reply): v is Reply => 'status' in v;

export function triggerView(t: BroadcastTrigger): Record<string, unknown> {
  return { id: t.id, broadcast_id: t.broadcastId, created_at: t.createdAt, processed_at: t.processedAt };
}

/** Resolve the audience to cio_ids, or a 422 message. */
function resolveAudience(ctx: RouteContext, body: Record<string, unknown>, form: string | undefined): string[] | string {
  const ws = ctx.ws;
  const lookup = (kind: 'id' | 'email', values: unknown[], ignoreMissing: boolean): string[] | string => {
    if (kind === 'email' && ws.config.emailIdentifier === false && values.length) return EMAIL_DISABLED;
    const found: Person[] = [];
    const missing: string[] = [];
    for (const v of values) {
      const person = ws.find({ kind, value: String(v) });
      if (person) found.push(person);
      else missing.push(String(v));
    }
    if (missing.length > 0 && !ignoreMissing) return `${kind === 'id' ? 'ids' : 'emails'} not found: ${missing.slice(0, 10).join(', ')}`;
    return found.map((p) => p.cioId);
  };
  switch (form) {
    case undefined:
    case 'data_file_url':
      return []; // the broadcast's UI audience / a file the fake does not fetch
    case 'recipients': {
      if (isPlainObject(body.recipients) && Object.keys(body.recipients).length === 0) return 'empty recipients filter is not valid';
      const matcher = compileFilter(body.recipients, ws, 'recipients');
      if (typeof matcher === 'string') return matcher;
      return ws.peopleInOrder().filter(matcher).map((p) => p.cioId);
    }
    case 'ids':
    case 'emails': {
      const values = body[form];
      if (!Array.isArray(values) || values.length === 0 || values.length > LIMITS.broadcastRecipientsMax) {
        return `${form} must be an array of 1 to ${LIMITS.broadcastRecipientsMax} values`;
      }
      return form === 'ids' ? lookup('id', values, body.id_ignore_missing === true) : lookup('email', values, body.email_ignore_missing === true);
    }
    case 'per_user_data': {
      const rows = body.per_user_data;
      if (!Array.isArray(rows) || rows.length === 0 || rows.length > LIMITS.broadcastRecipientsMax) {
        return `per_user_data must be an array of 1 to ${LIMITS.broadcastRecipientsMax} entries`;
      }
      const out: string[] = [];
      for (const row of rows) {
        if (!isPlainObject(row) || (row.id === undefined) === (row.email === undefined)) return 'each per_user_data entry needs exactly one of id, email';
        const r = row.id !== undefined ? lookup('id', [row.id], body.id_ignore_missing === true) : lookup('email', [row.email], body.email_ignore_missing === true);
        if (typeof r === 'string') return r;
        out.push(...r);
      }
      return out;
    }
    default:
      return 'unknown audience form';
  }
}

function trigger(ctx: RouteContext): Reply {
  const broadcast = findBroadcast(ctx);
  if (isReply(broadcast)) return broadcast;
  const limiter = ctx.fake.rates.limiter(`${ctx.ws.config.name}/broadcast/${broadcast.id}`, 1, ctx.fake.limits.broadcastIntervalMs);
  const decision = limiter.tryAcquire(ctx.now);
  if (!decision.ok) {
    return { ...appError(429, 'rate limit exceeded: one trigger per broadcast per interval'), headers: { 'retry-after': String(decision.retryAfterSeconds) } };
  }
  const body = ctx.body === undefined || ctx.body === null ? {} : ctx.body;
  if (!isPlainObject(body)) return appError(400, 'request body must be a JSON object');
  if (body.data !== undefined && !isPlainObject(body.data)) return appError(422, 'data must be an object');
  const forms = AUDIENCE_FORMS.filter((f) => body[f] !== undefined);
  if (forms.length > 1) return appError(422, `only one of ${AUDIENCE_FORMS.join(', ')} may be given; got ${forms.join(', ')}`);
  const recipients = resolveAudience(ctx, body, forms[0]);
  if (typeof recipients === 'string') return appError(422, recipients);

  const t = Math.floor(ctx.now / 1000);
  const record: BroadcastTrigger = {
    id: ctx.ws.nextTriggerId++,
    broadcastId: broadcast.id,
    createdAt: t,
    processedAt: t,
    audience: forms[0] ?? 'default',
    recipients,
    data: isPlainObject(body.data) ? body.data : null,
    body,
  };
  ctx.ws.triggers.push(record);
  // The fake "sends" at once: each recipient's delivery is reported to the workspace's webhook.
  for (const cioId of recipients) {
    const person = ctx.ws.people.get(cioId) ?? null;
    ctx.fake.webhooks.delivered(ctx.ws, {
      deliveryId: randomBytes(14).toString('base64url'), person, recipient: person?.email ?? null,
      source: { kind: 'broadcast', broadcastId: broadcast.id, triggerId: record.id },
    }, ctx.now);
  }
  return ok({ id: record.id });
}

function metrics(ctx: RouteContext): Reply {
  const broadcast = findBroadcast(ctx);
  if (isReply(broadcast)) return broadcast;
  // The fake "sends" to every resolved recipient at once; other metrics stay at zero.
  const sent = ctx.ws.triggers.filter((t) => t.broadcastId === broadcast.id).reduce((n, t) => n + t.recipients.length, 0);
  return ok({ metric: { series: { sent: [sent], delivered: [sent], opened: [0], clicked: [0], bounced: [0], unsubscribed: [0] } } });
}

export function broadcastView(b: Broadcast): Record<string, unknown> {
  return { id: b.id, name: b.name, type: 'triggered_broadcast', active: true, state: 'running', created: b.createdAt, updated: b.createdAt };
}

export const appBroadcastsRoutes: Route[] = [
  { method: 'POST', path: '/campaigns/:id/triggers', handle: trigger },
  {
    method: 'GET', path: '/campaigns/:id/triggers/:tid', handle: (ctx) => {
      const broadcast = findBroadcast(ctx);
      if (isReply(broadcast)) return broadcast;
      const tid = intParam(ctx.params.tid);
      const found = ctx.ws.triggers.find((t) => t.broadcastId === broadcast.id && t.id === tid);
      return found ? ok(triggerView(found)) : appError(404, `not found (reference trigger ${ctx.params.tid ?? ''})`);
    },
  },
  { method: 'GET', path: '/broadcasts', handle: (ctx) => ok({ broadcasts: [...ctx.ws.broadcasts.values()].map(broadcastView) }) },
  {
    method: 'GET', path: '/broadcasts/:id', handle: (ctx) => {
      const broadcast = findBroadcast(ctx);
      return isReply(broadcast) ? broadcast : ok({ broadcast: broadcastView(broadcast) });
    },
  },
  { method: 'GET', path: '/broadcasts/:id/metrics', handle: metrics },
  {
    method: 'GET', path: '/broadcasts/:id/triggers', handle: (ctx) => {
      const broadcast = findBroadcast(ctx);
      if (isReply(broadcast)) return broadcast;
      return ok({ triggers: ctx.ws.triggers.filter((t) => t.broadcastId === broadcast.id).map(triggerView) });
    },
  },
];
