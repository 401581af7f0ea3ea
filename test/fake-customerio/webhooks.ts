// Reporting webhooks, as Customer.io sends them: for what the fake "delivers" (each recipient of a
// broadcast trigger, each transactional send) it POSTs `sent` then `delivered` events to the URL a
// workspace configured, signed like the real ones (X-CIO-Timestamp, X-CIO-Signature = hex
// HMAC-SHA256 of `v0:<timestamp>:<body>`). Shapes follow the published reporting-webhooks spec,
// including its nulls: a person without an id has `customer_id` and `identifiers.id` null.
// `emit` lets a test report an open or a click of a delivery, as Customer.io's own tracking would.

import { createHmac, randomBytes } from 'node:crypto';
import type { Person, WorkspaceState } from './state.ts';

export interface WebhookTarget { url: string; secret: string }
export interface WebhookLogEntry { workspace: string; eventId: string; metric: string; deliveryId: string; status: number | null; error: string | null; at: number }

export type DeliverySource =
  | { kind: 'broadcast'; broadcastId: number; triggerId: number }
  | { kind: 'transactional'; messageId: number | string };

export interface ReportedDelivery { deliveryId: string; person: Pick<Person, 'cioId' | 'id' | 'email'> | null; recipient: string | null; source: DeliverySource }

export class WebhookSender {
  targets = new Map<string, WebhookTarget>();
  log: WebhookLogEntry[] = [];
  /** Deliveries by id, so a later `emit` (opened, clicked) reports the same message. */
  deliveries = new Map<string, { workspace: string; delivery: ReportedDelivery; idOnly: boolean }>();
  private queue: Array<() => Promise<void>> = [];
  private running = 0;

  reset(): void {
    this.targets.clear();
    this.log = [];
    this.deliveries.clear();
    this.queue = [];
  }

  /** A message went out: `sent` and `delivered` for it, when the workspace has a webhook. */
  delivered(ws: WorkspaceState, delivery: ReportedDelivery, now: number): void {
    this.deliveries.set(delivery.deliveryId, { workspace: ws.config.name, delivery, idOnly: ws.config.emailIdentifier === false });
    for (const metric of ['sent', 'delivered']) this.report(ws.config.name, delivery, metric, now, {});
  }

  /** A later metric for a delivery already reported (opened, clicked with `href`, …). False for an unknown delivery. */
  emit(deliveryId: string, metric: string, now: number, extra: Record<string, unknown> = {}): boolean {
    const known = this.deliveries.get(deliveryId);
    if (!known) return false;
    // A click names its link (the spec requires `href` and `link_id`).
    const click = metric === 'clicked' ? { href: 'https://example.com/', link_id: 1 } : {};
    this.report(known.workspace, known.delivery, metric, now, { ...click, ...extra });
    return true;
  }

  /** Resolves once everything queued so far was sent (tests wait on it through `/_fake/webhooks`). */
  get pending(): number {
    return this.queue.length + this.running;
  }

  private report(workspace: string, d: ReportedDelivery, metric: string, now: number, extra: Record<string, unknown>): void {
    const target = this.targets.get(workspace);
    if (!target) return;
    // "If your workspace only supports ID, this object just contains the `id`" (the spec).
    const idOnly = this.deliveries.get(d.deliveryId)?.idOnly ?? false;
    const identifiers = idOnly
      ? { id: d.person?.id ?? null }
      : { id: d.person?.id ?? null, email: d.person?.email ?? null, cio_id: d.person?.cioId ?? null };
    const source = d.source.kind === 'broadcast'
      ? { broadcast_id: d.source.broadcastId, trigger_id: d.source.triggerId, action_id: 1 }
      : { transactional_message_id: d.source.messageId };
    const event = {
      event_id: randomBytes(13).toString('hex'),
      object_type: 'email',
      metric,
      timestamp: Math.floor(now / 1000),
      data: {
        delivery_id: d.deliveryId,
        ...source,
        customer_id: d.person?.id ?? null,
        identifiers,
        recipient: d.recipient,
        subject: 'Message from the fake Customer.io',
        ...extra,
      },
    };
    this.queue.push(() => this.post(workspace, target, event));
    this.pump();
  }

  private pump(): void {
    // A few at a time, like a real sender: a big trigger does not open thousands of sockets at once.
    while (this.running < 4 && this.queue.length) {
      const job = this.queue.shift()!;
      this.running++;
      void job().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async post(workspace: string, target: WebhookTarget, event: { event_id: string; metric: string; data: { delivery_id: string } }): Promise<void> {
    const body = JSON.stringify(event);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', target.secret).update(`v0:${timestamp}:${body}`).digest('hex');
    const entry: WebhookLogEntry = { workspace, eventId: event.event_id, metric: event.metric, deliveryId: event.data.delivery_id, status: null, error: null, at: Date.now() };
    this.log.push(entry);
    try {
      const res = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cio-timestamp': timestamp, 'x-cio-signature': signature }, body });
      entry.status = res.status;
      await res.arrayBuffer();
    } catch (error) {
      entry.error = (error as Error).message;
    }
  }
}
