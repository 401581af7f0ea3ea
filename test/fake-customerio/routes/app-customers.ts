// App API customers (`/v1/customers...`, Bearer auth): lookup by email, filtered search with a
// stable cursor, bulk and single attribute reads, a person's segments.

import { compileFilter } from '../audience.ts';
import type { Person, WorkspaceState } from '../state.ts';
import { idTypeFromQuery, isPlainObject, LIMITS } from '../validate.ts';
import { customerView, identifiersOf, pagePeople, segmentView } from '../views.ts';
import { appError, intQuery, ok, type Reply, type Route, type RouteContext } from './router.ts';

/** The default page size of the search endpoint is UNCONFIRMED; 50 keeps clients honest about paging. */
export const DEFAULT_SEARCH_LIMIT = 50;

function findByPath(ctx: RouteContext): Person | Reply {
  const idType = idTypeFromQuery(ctx.query.get('id_type'));
  if (idType === null) return appError(400, 'id_type must be one of id, email, cio_id');
  const person = ctx.ws.find({ kind: idType, value: ctx.params.id ?? '' });
  return person ?? appError(404, 'not found');
}

const isReply = (v: Person | Reply): v is Reply => 'status' in v;

function search(ctx: RouteContext): Reply {
  const limit = intQuery(ctx.query, 'limit', DEFAULT_SEARCH_LIMIT);
  if (limit === null || limit < 1 || limit > LIMITS.searchLimitMax) return appError(400, `limit must be between 1 and ${LIMITS.searchLimitMax}`);
  const filter = isPlainObject(ctx.body) ? ctx.body.filter : undefined;
  const matcher = compileFilter(filter, ctx.ws);
  if (typeof matcher === 'string') return appError(400, matcher);
  const result = pagePeople(ctx.ws.peopleInOrder().filter(matcher), ctx.query.get('start'), limit);
  if (!result) return appError(400, 'start is not a valid cursor');
  return ok({ identifiers: result.page.map(identifiersOf), ids: result.page.map((p) => p.id), next: result.next });
}

function bulkAttributes(ctx: RouteContext): Reply {
  const idType = idTypeFromQuery(ctx.query.get('id_type'));
  if (idType === null) return appError(400, 'id_type must be one of id, email, cio_id');
  const ids = isPlainObject(ctx.body) ? ctx.body.ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > LIMITS.customersAttributesIdsMax) {
    return appError(400, `ids must be an array of 1 to ${LIMITS.customersAttributesIdsMax} identifiers`);
  }
  const customers = ids
    .map((raw) => ctx.ws.find({ kind: idType, value: String(raw) }))
    .filter((p): p is Person => p !== undefined)
    .map((p) => ({ customer: customerView(p) }));
  return ok({ customers });
}

function byEmail(ws: WorkspaceState, email: string | null): Reply {
  if (email === null || email === '') return appError(400, 'email is required');
  const person = ws.find({ kind: 'email', value: email });
  return ok({ results: person ? [identifiersOf(person)] : [] });
}

export const appCustomersRoutes: Route[] = [
  { method: 'GET', path: '/customers', handle: (ctx) => byEmail(ctx.ws, ctx.query.get('email')) },
  { method: 'POST', path: '/customers', handle: search },
  { method: 'POST', path: '/customers/attributes', handle: bulkAttributes },
  {
    method: 'GET', path: '/customers/:id/attributes', handle: (ctx) => {
      const person = findByPath(ctx);
      return isReply(person) ? person : ok({ customer: customerView(person) });
    },
  },
  {
    method: 'GET', path: '/customers/:id/segments', handle: (ctx) => {
      const person = findByPath(ctx);
      return isReply(person) ? person : ok({ segments: ctx.ws.segmentsOf(person).map(segmentView) });
    },
  },
];
