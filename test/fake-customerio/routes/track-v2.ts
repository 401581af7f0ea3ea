// Track API v2 (`/api/v2`, Basic auth): `/entity` takes one operation, `/batch` many. Bad items in
// a batch are reported with 207 while the good ones apply; a bad body as a whole is a 400.

import { identify, deletePerson, suppress, unsuppress, trackEvent, mergePeople } from '../people.ts';
import type { WorkspaceState } from '../state.ts';
import {
  attributeProblems, byteLength, emailRefused, eventProblems, isPlainObject, isProblem, refFromObject, timestampProblems, LIMITS,
  type Problem, type Ref,
} from '../validate.ts';
import { ok, type Reply, type Route, type RouteContext } from './router.ts';

const v2Error = (status: number, problems: Problem[]): Reply => ({
  status,
  body: { errors: problems.map(({ reason, field, message }) => ({ reason, field, message })) },
});

/** Validate and apply one operation; returns the problem that stopped it, or null when applied. */
export function applyOperation(ws: WorkspaceState, op: unknown, now: number): Problem | null {
  if (!isPlainObject(op)) return { field: 'type', reason: 'invalid', message: 'operation must be an object' };
  if (op.type === 'object') return applyObjectOperation(ws, op, now);
  // Delivery events are valid in the real API; the fake accepts them without modelling them.
  if (op.type === 'delivery') return null;
  if (op.type !== 'person') return { field: 'type', reason: 'invalid', message: 'type must be one of person, object, delivery' };

  if (op.action === 'merge') {
    const primary = refFromObject(op.primary, 'primary');
    if (isProblem(primary)) return primary;
    const secondary = refFromObject(op.secondary, 'secondary');
    if (isProblem(secondary)) return secondary;
    const refused = emailRefused(ws, primary) ?? emailRefused(ws, secondary);
    if (refused) return refused;
    mergePeople(ws, primary, secondary, now);
    return null;
  }
  const ref = refFromObject(op.identifiers, 'identifiers');
  if (isProblem(ref)) return ref;
  const refused = emailRefused(ws, ref);
  if (refused) return refused;
  return applyPersonAction(ws, ref, op, now);
}

/**
 * Objects (the spec's `object` operations): identify makes or updates one and relates the people in
 * `cio_relationships`; `delete_relationships` ends those relations; `delete` removes the object.
 * Object type ids are string-formatted integers from "1". People named in a relationship who do not
 * exist are skipped (the spec does not say; UNCONFIRMED).
 */
function applyObjectOperation(ws: WorkspaceState, op: Record<string, unknown>, now: number): Problem | null {
  const ids = op.identifiers;
  if (!isPlainObject(ids) || typeof ids.object_type_id !== 'string' || !/^[1-9][0-9]*$/.test(ids.object_type_id)) {
    return { field: 'identifiers.object_type_id', reason: 'invalid', message: 'object_type_id must be a string-formatted integer such as "1"' };
  }
  if (typeof ids.object_id !== 'string' || ids.object_id === '' || byteLength(ids.object_id) > 150) {
    return { field: 'identifiers.object_id', reason: 'invalid', message: 'object_id must be a non-empty string of at most 150 bytes' };
  }
  const key = `${ids.object_type_id}:${ids.object_id}`;
  const related: string[] = [];
  if (op.cio_relationships !== undefined) {
    if (!Array.isArray(op.cio_relationships)) return { field: 'cio_relationships', reason: 'invalid', message: 'cio_relationships must be an array' };
    for (const [i, rel] of op.cio_relationships.entries()) {
      const ref = refFromObject(isPlainObject(rel) ? rel.identifiers : undefined, `cio_relationships[${i}].identifiers`);
      if (isProblem(ref)) return ref;
      const refused = emailRefused(ws, ref);
      if (refused) return refused;
      const person = ws.find(ref);
      if (person) related.push(person.cioId);
    }
  }
  switch (op.action) {
    case 'identify': {
      const attributes = op.attributes ?? {};
      if (!isPlainObject(attributes)) return { field: 'attributes', reason: 'invalid', message: 'attributes must be an object' };
      const problem = attributeProblems(attributes)[0];
      if (problem) return problem;
      const existing = ws.objects.get(key);
      const object = existing ?? { objectTypeId: ids.object_type_id, objectId: ids.object_id, attributes: {}, relationships: new Set<string>(), createdAt: now, updatedAt: now };
      object.attributes = { ...object.attributes, ...attributes };
      object.updatedAt = now;
      for (const cioId of related) object.relationships.add(cioId);
      ws.objects.set(key, object);
      return null;
    }
    case 'add_relationships':
    case 'delete_relationships': {
      const object = ws.objects.get(key);
      if (!object) return { field: 'identifiers', reason: 'invalid', message: 'object not found' };
      for (const cioId of related) (op.action === 'add_relationships' ? object.relationships.add(cioId) : object.relationships.delete(cioId));
      return null;
    }
    case 'delete':
      ws.objects.delete(key);
      return null;
    default:
      return { field: 'action', reason: 'invalid', message: 'object action must be one of identify, add_relationships, delete_relationships, delete' };
  }
}

function applyPersonAction(ws: WorkspaceState, ref: Ref, op: Record<string, unknown>, now: number): Problem | null {
  const attributes = op.attributes ?? {};
  switch (op.action) {
    case 'identify': {
      if (!isPlainObject(attributes)) return { field: 'attributes', reason: 'invalid', message: 'attributes must be an object' };
      const problem = [
        ...timestampProblems(op.timestamp, 'timestamp', now),
        ...timestampProblems(attributes.created_at, 'attributes.created_at', now),
        ...attributeProblems(attributes),
      ][0];
      if (problem) return problem;
      // v2 may carry the anonymous id beside the attributes; treat it like v1's anonymous_id.
      const body = op.anonymous_id === undefined ? attributes : { ...attributes, anonymous_id: op.anonymous_id };
      identify(ws, { ref, body }, now);
      return null;
    }
    case 'event':
    case 'page':
    case 'screen': {
      const type = op.action === 'event' ? 'event' : op.action;
      const problem = eventProblems({ name: op.name, type, id: op.id, timestamp: op.timestamp, data: op.attributes }, now, 'attributes')[0];
      if (problem) return problem;
      trackEvent(ws, ref, { name: op.name as string, type, id: op.id, timestamp: op.timestamp, data: op.attributes }, now);
      return null;
    }
    case 'delete':
      deletePerson(ws, ref);
      return null;
    case 'suppress':
      suppress(ws, ref);
      return null;
    case 'unsuppress':
      unsuppress(ws, ref);
      return null;
    case 'add_device':
    case 'delete_device':
    case 'add_relationships':
    case 'delete_relationships':
      return null; // valid, not modelled
    default:
      return { field: 'action', reason: 'invalid', message: 'unknown action for type person' };
  }
}

function entityRoute(ctx: RouteContext): Reply {
  if (byteLength(ctx.rawBody) >= LIMITS.v2EntityBytes) {
    return v2Error(400, [{ field: 'body', reason: 'too_long', message: `request must be smaller than ${LIMITS.v2EntityBytes} bytes` }]);
  }
  const problem = applyOperation(ctx.ws, ctx.body, ctx.now);
  return problem ? v2Error(400, [problem]) : ok();
}

function batchRoute(ctx: RouteContext): Reply {
  if (byteLength(ctx.rawBody) >= LIMITS.v2BatchBytes) {
    return v2Error(400, [{ field: 'batch', reason: 'too_long', message: `batch must be smaller than ${LIMITS.v2BatchBytes} bytes` }]);
  }
  const batch = isPlainObject(ctx.body) ? ctx.body.batch : undefined;
  if (!Array.isArray(batch)) return v2Error(400, [{ field: 'batch', reason: 'required', message: 'batch must be an array' }]);
  const errors: Array<Problem & { batch_index: number }> = [];
  // Customer.io applies a batch's operations asynchronously, in no promised order: `reverse` makes
  // that visible (a merge packed after an identify lands before it, and the other way round).
  const order = batch.map((op, index) => ({ op, index }));
  if (ctx.fake.batchOrder === 'reverse') order.reverse();
  order.forEach(({ op, index }) => {
    const size = byteLength(JSON.stringify(op) ?? '');
    const problem = size > LIMITS.v2EntityBytes
      ? { field: 'batch', reason: 'too_long' as const, message: `batch item cannot be larger than ${LIMITS.v2EntityBytes} bytes` }
      : index === 0 && ctx.failFirstItem
        ? { field: 'batch', reason: 'invalid' as const, message: 'injected item failure' }
        : applyOperation(ctx.ws, op, ctx.now);
    if (problem) errors.push({ batch_index: index, ...problem });
  });
  if (errors.length === 0) return ok();
  errors.sort((a, b) => a.batch_index - b.batch_index);
  return {
    status: 207,
    body: { errors: errors.map(({ batch_index, reason, field, message }) => ({ batch_index, reason, field, message })) },
  };
}

export const trackV2Routes: Route[] = [
  { method: 'POST', path: '/entity', handle: entityRoute },
  { method: 'POST', path: '/batch', handle: batchRoute },
];
