// App API campaigns: read-only listing and metrics. Campaigns and broadcasts share Customer.io's
// campaign id space, so metrics answer for either kind of id.

import { appError, intParam, ok, type Route, type RouteContext } from './router.ts';

function exists(ctx: RouteContext): boolean {
  const id = intParam(ctx.params.id);
  return id !== null && (ctx.ws.campaigns.has(id) || ctx.ws.broadcasts.has(id));
}

const zeroSeries = { series: { sent: [0], delivered: [0], opened: [0], clicked: [0], converted: [0], bounced: [0], unsubscribed: [0] } };

export const appCampaignsRoutes: Route[] = [
  {
    method: 'GET', path: '/campaigns', handle: (ctx) => ok({
      campaigns: [...ctx.ws.campaigns.values()].map((c) => ({ id: c.id, name: c.name, type: 'segment', active: true, state: 'running', created: c.createdAt, updated: c.createdAt })),
    }),
  },
  {
    method: 'GET', path: '/campaigns/:id', handle: (ctx) => {
      const c = ctx.ws.campaigns.get(intParam(ctx.params.id) ?? -1);
      return c ? ok({ campaign: { id: c.id, name: c.name, type: 'segment', active: true, state: 'running', created: c.createdAt, updated: c.createdAt } }) : appError(404, 'campaign not found');
    },
  },
  { method: 'GET', path: '/campaigns/:id/metrics', handle: (ctx) => (exists(ctx) ? ok({ metric: zeroSeries }) : appError(404, 'campaign not found')) },
];
