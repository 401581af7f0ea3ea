// Transactional sends (`/v1/send/email`, `/v1/send/push`): validate the documented required
// fields, record a delivery and answer `{delivery_id, queued_at}`. Errors use `{meta:{error}}`.

import { randomBytes } from 'node:crypto';
import type { Delivery } from '../state.ts';
import { isPlainObject, isProblem, refFromObject, timestampProblems, emailRefused } from '../validate.ts';
import { ok, transactionalError, type Reply, type Route, type RouteContext } from './router.ts';

function send(channel: Delivery['channel']) {
  return (ctx: RouteContext): Reply => {
    const body = ctx.body;
    if (!isPlainObject(body)) return transactionalError(400, 'request body must be a JSON object');
    const ref = refFromObject(body.identifiers, 'identifiers');
    if (isProblem(ref)) return transactionalError(400, ref.message);
    const refused = emailRefused(ctx.ws, ref);
    if (refused) return transactionalError(400, refused.message);
    const hasTemplate = body.transactional_message_id !== undefined && body.transactional_message_id !== '';
    if (channel === 'email') {
      if (typeof body.to !== 'string' || body.to === '') return transactionalError(400, 'to is required');
      const inline = ['from', 'subject', 'body'].every((k) => typeof body[k] === 'string' && body[k] !== '');
      if (!hasTemplate && !inline) return transactionalError(400, 'transactional_message_id or from, subject and body are required');
    } else if (!hasTemplate) {
      return transactionalError(400, 'transactional_message_id is required');
    }
    const sendAt = timestampProblems(body.send_at, 'send_at', ctx.now)[0];
    if (sendAt) return transactionalError(400, sendAt.message);

    const delivery: Delivery = {
      deliveryId: randomBytes(14).toString('base64url'),
      channel,
      queuedAt: Math.floor(ctx.now / 1000),
      identifiers: body.identifiers,
      to: body.to ?? null,
      transactionalMessageId: body.transactional_message_id ?? null,
      body,
    };
    ctx.ws.deliveries.push(delivery);
    const person = ctx.ws.find(ref) ?? null;
    ctx.fake.webhooks.delivered(ctx.ws, {
      deliveryId: delivery.deliveryId, person, recipient: typeof body.to === 'string' ? body.to : person?.email ?? null,
      source: { kind: 'transactional', messageId: (body.transactional_message_id as number | string | undefined) ?? 'inline' },
    }, ctx.now);
    return ok({ delivery_id: delivery.deliveryId, queued_at: delivery.queuedAt });
  };
}

export const appTransactionalRoutes: Route[] = [
  { method: 'POST', path: '/send/email', handle: send('email') },
  { method: 'POST', path: '/send/push', handle: send('push') },
];
