// Track API v1 (`/api/v1`, Basic auth). Success is `200 {}`; validation failures are
// `400 {meta:{errors:[...]}}` and apply nothing.

import { identify, deletePerson, suppress, unsuppress, trackEvent, trackAnonymous, mergePeople } from '../people.ts';
import {
  attributeProblems, eventProblems, identifierProblems, idTypeFromQuery, isPlainObject, isProblem,
  refFromObject, refFromPath, timestampProblems, LIMITS, type Problem, type Ref, EMAIL_DISABLED, emailRefused } from '../validate.ts';
import { intParam, ok, trackError, type Reply, type Route, type RouteContext } from './router.ts';

const fail = (problems: Problem[]): Reply => trackError(400, problems.map((p) => p.message));

/** Path identifier checks shared by every `/customers/:id/...` route. */
function pathRef(ctx: RouteContext): Ref | Reply {
  const raw = ctx.params.id ?? '';
  const problems = identifierProblems(raw);
  if (problems.length > 0) return fail(problems);
  const ref = refFromPath(raw);
  const refused = emailRefused(ctx.ws, ref);
  return refused ? fail([refused]) : ref;
}

const isReply = (v: Ref | Reply): v is Reply => 'status' in v;

function identifyRoute(ctx: RouteContext): Reply {
  const ref = pathRef(ctx);
  if (isReply(ref)) return ref;
  const body = ctx.body ?? {};
  if (!isPlainObject(body)) return fail([{ field: 'body', reason: 'invalid', message: 'request body must be a JSON object' }]);
  const problems: Problem[] = [];
  if (body.id !== undefined && body.id !== null) problems.push(...identifierProblems(body.id, 'id'));
  if (body.email !== undefined && body.email !== null && typeof body.email !== 'string') {
    problems.push({ field: 'email', reason: 'invalid', message: 'email attribute must be a string value' });
  }
  problems.push(...timestampProblems(body.created_at, 'created_at', ctx.now));
  problems.push(...timestampProblems(body._timestamp, '_timestamp', ctx.now));
  problems.push(...attributeProblems(body));
  if (problems.length > 0) return fail(problems);
  identify(ctx.ws, { ref, body }, ctx.now);
  return ok();
}

/** A validated event body, or the 400 to answer. */
function eventBody(ctx: RouteContext): { event: Record<string, unknown> & { name: string } } | { reply: Reply } {
  const body = ctx.body;
  if (!isPlainObject(body)) return { reply: fail([{ field: 'body', reason: 'invalid', message: 'request body must be a JSON object' }]) };
  const problems = eventProblems(body as { name: unknown }, ctx.now);
  if (problems.length > 0) return { reply: fail(problems) };
  return { event: body as Record<string, unknown> & { name: string } };
}

function trackRoute(ctx: RouteContext): Reply {
  const ref = pathRef(ctx);
  if (isReply(ref)) return ref;
  const parsed = eventBody(ctx);
  if ('reply' in parsed) return parsed.reply;
  trackEvent(ctx.ws, ref, parsed.event, ctx.now);
  return ok();
}

function anonymousRoute(ctx: RouteContext): Reply {
  const parsed = eventBody(ctx);
  if ('reply' in parsed) return parsed.reply;
  const anon = parsed.event.anonymous_id;
  if (anon !== undefined && anon !== null && anon !== '') {
    const problems = identifierProblems(anon, 'anonymous_id');
    if (problems.length > 0) return fail(problems);
  }
  const anonymousId = anon === undefined || anon === null || anon === '' ? null : String(anon);
  trackAnonymous(ctx.ws, anonymousId, parsed.event, ctx.now);
  return ok();
}

function mergeRoute(ctx: RouteContext): Reply {
  const body = isPlainObject(ctx.body) ? ctx.body : {};
  const primary = refFromObject(body.primary, 'primary');
  const secondary = refFromObject(body.secondary, 'secondary');
  const problems = [primary, secondary].filter(isProblem);
  if (problems.length > 0) return fail(problems);
  mergePeople(ctx.ws, primary as Ref, secondary as Ref, ctx.now);
  return ok();
}

/** add_customers / remove_customers: manual segments only; ids 1–1000; mismatching ids are ignored. */
function segmentMembers(action: 'add' | 'remove') {
  return (ctx: RouteContext): Reply => {
    const segmentId = intParam(ctx.params.segment);
    const segment = segmentId === null ? undefined : ctx.ws.segments.get(segmentId);
    if (!segment) return trackError(404, ['segment not found']);
    if (segment.type !== 'manual') return trackError(400, ['only manual segments can be changed through the API']);
    const idType = idTypeFromQuery(ctx.query.get('id_type'));
    if (idType === null) return trackError(400, ['id_type must be one of id, email, cio_id']);
    if (idType === 'email' && ctx.ws.config.emailIdentifier === false) return trackError(400, [EMAIL_DISABLED]);
    const ids = isPlainObject(ctx.body) ? ctx.body.ids : undefined;
    if (!Array.isArray(ids) || ids.length === 0) return trackError(400, ['ids must be a non-empty array']);
    if (ids.length > LIMITS.segmentIdsMax) return trackError(400, [`ids cannot contain more than ${LIMITS.segmentIdsMax} items`]);
    for (const raw of ids) {
      if (typeof raw !== 'string' && typeof raw !== 'number') continue;
      const person = ctx.ws.find({ kind: idType, value: String(raw) });
      if (!person) continue;
      if (action === 'add') segment.members.add(person.cioId);
      else segment.members.delete(person.cioId);
    }
    segment.updatedAt = Math.floor(ctx.now / 1000);
    return ok();
  };
}

export const trackV1Routes: Route[] = [
  { method: 'PUT', path: '/customers/:id', handle: identifyRoute },
  {
    method: 'DELETE', path: '/customers/:id', handle: (ctx) => {
      const ref = pathRef(ctx);
      if (isReply(ref)) return ref;
      deletePerson(ctx.ws, ref);
      return ok();
    },
  },
  { method: 'POST', path: '/customers/:id/events', handle: trackRoute },
  {
    method: 'POST', path: '/customers/:id/suppress', handle: (ctx) => {
      const ref = pathRef(ctx);
      if (isReply(ref)) return ref;
      suppress(ctx.ws, ref);
      return ok();
    },
  },
  {
    method: 'POST', path: '/customers/:id/unsuppress', handle: (ctx) => {
      const ref = pathRef(ctx);
      if (isReply(ref)) return ref;
      unsuppress(ctx.ws, ref);
      return ok();
    },
  },
  { method: 'POST', path: '/events', handle: anonymousRoute },
  { method: 'POST', path: '/merge_customers', handle: mergeRoute },
  { method: 'POST', path: '/segments/:segment/add_customers', handle: segmentMembers('add') },
  { method: 'POST', path: '/segments/:segment/remove_customers', handle: segmentMembers('remove') },
  {
    method: 'GET', path: '/accounts/region', handle: (ctx) => {
      const region = ctx.ws.config.region ?? 'us';
      return ok({ url: region === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io', region, environment_id: 1 });
    },
  },
];
