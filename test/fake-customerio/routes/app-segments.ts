// App API segments (`/v1/segments...`). The API only creates empty manual segments; membership of
// manual segments changes through the Track API (track-v1.ts), never here.

import type { Segment } from '../state.ts';
import { isPlainObject, LIMITS } from '../validate.ts';
import { identifiersOf, pagePeople, segmentView } from '../views.ts';
import { appError, intParam, intQuery, ok, type Reply, type Route, type RouteContext } from './router.ts';

/** Default membership page size is UNCONFIRMED. */
export const DEFAULT_MEMBERSHIP_LIMIT = 1000;

function findSegment(ctx: RouteContext): Segment | Reply {
  const id = intParam(ctx.params.id);
  const segment = id === null ? undefined : ctx.ws.segments.get(id);
  return segment ?? appError(404, 'segment not found');
}

const isReply = (v: Segment | Reply): v is Reply => 'status' in v;

function create(ctx: RouteContext): Reply {
  const input = isPlainObject(ctx.body) ? ctx.body.segment : undefined;
  if (!isPlainObject(input) || typeof input.name !== 'string' || input.name.trim() === '') {
    return appError(400, 'segment.name is required');
  }
  const description = typeof input.description === 'string' ? input.description : '';
  return ok({ segment: segmentView(ctx.ws.addSegment(input.name, description, 'manual', ctx.now)) });
}

function membership(ctx: RouteContext): Reply {
  const segment = findSegment(ctx);
  if (isReply(segment)) return segment;
  const limit = intQuery(ctx.query, 'limit', DEFAULT_MEMBERSHIP_LIMIT);
  if (limit === null || limit < 1 || limit > LIMITS.membershipLimitMax) {
    return appError(400, `limit must be between 1 and ${LIMITS.membershipLimitMax}`);
  }
  const members = ctx.ws.peopleInOrder().filter((p) => segment.members.has(p.cioId));
  const result = pagePeople(members, ctx.query.get('start'), limit);
  if (!result) return appError(400, 'start is not a valid cursor');
  return ok({ identifiers: result.page.map(identifiersOf), ids: result.page.map((p) => p.id), next: result.next });
}

export const appSegmentsRoutes: Route[] = [
  { method: 'GET', path: '/segments', handle: (ctx) => ok({ segments: [...ctx.ws.segments.values()].map(segmentView) }) },
  { method: 'POST', path: '/segments', handle: create },
  {
    method: 'GET', path: '/segments/:id', handle: (ctx) => {
      const segment = findSegment(ctx);
      return isReply(segment) ? segment : ok({ segment: segmentView(segment) });
    },
  },
  {
    method: 'DELETE', path: '/segments/:id', handle: (ctx) => {
      const segment = findSegment(ctx);
      if (isReply(segment)) return segment;
      ctx.ws.segments.delete(segment.id);
      return { status: 204 };
    },
  },
  {
    method: 'GET', path: '/segments/:id/customer_count', handle: (ctx) => {
      const segment = findSegment(ctx);
      return isReply(segment) ? segment : ok({ segment_id: segment.id, count: segment.members.size });
    },
  },
  { method: 'GET', path: '/segments/:id/membership', handle: membership },
];
