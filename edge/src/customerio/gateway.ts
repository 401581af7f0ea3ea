/**
 * The Customer.io gateway: every call the product makes to Customer.io, typed, and never throwing.
 * Each answer is an `Outcome`: `ok` with a typed value, `partial` (a v2 batch 207), `retry` (429,
 * 5xx, 408, no answer: try again later, honouring `retryAfterMs`) or `reject` (any other 4xx: the
 * request itself is wrong). Failures keep Customer.io's own words (`message`): Track's
 * `meta.error`/`meta.errors`, the App API's `errors[].detail`, the first line of a non-JSON page.
 *
 * `customerIo()` is the one way to get a gateway; callers never see customerio-node's clients.
 */
import { CustomerIORequestError, SendEmailRequest, type IdentifierType } from 'customerio-node';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { parseRetryAfter } from '#edge/sync/pacing.ts';
import { type CustomerIoClients, customerIoClients } from './client.ts';
import type { V2Operation } from './batch.ts';
import { EMAIL_IDENTIFIER_REFUSED } from '#shared/identity.ts';

export type Failure =
  /** 429, 5xx, 408 or no answer: worth trying again later. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; message: string }
  /** Any other 4xx: the request itself is wrong and will not succeed as it is. */
  | { kind: 'reject'; status: number; message: string };

/** A v2 batch item Customer.io refused (207), by its index in the batch. */
export interface BatchItemError { batch_index: number; reason?: string; field?: string; message?: string }

export type Outcome<T> = { kind: 'ok'; value: T } | Failure;
export type BatchOutcome = { kind: 'ok' } | { kind: 'partial'; errors: BatchItemError[] } | Failure;

/** One line for dead letters, send status and the panel: "429: Too many requests". */
export const describeFailure = (f: Failure | { kind: 'partial' }): string =>
  f.kind === 'partial' ? 'Customer.io refused part of the batch' : `${f.status ?? 'no answer'}: ${f.message}`;

/** Customer.io's own words from an error body, whichever API answered. */
export function customerIoMessage(body: unknown, raw = ''): string {
  const b = body as { meta?: { error?: string; errors?: string[] }; errors?: Array<{ detail?: string; message?: string } | string>; error?: string } | null;
  const parts: string[] = [];
  if (b?.meta?.error) parts.push(b.meta.error);
  if (Array.isArray(b?.meta?.errors)) parts.push(...b.meta.errors.map(String));
  if (Array.isArray(b?.errors)) parts.push(...b.errors.map((e) => (typeof e === 'string' ? e : e.detail ?? e.message ?? JSON.stringify(e))));
  if (typeof b?.error === 'string') parts.push(b.error);
  if (parts.length) return parts.join('; ').slice(0, 500);
  // Not JSON (a load balancer's page): its text, without the markup.
  const text = raw.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return (text || 'no error text').slice(0, 200);
}

/** What a thrown customerio-node error (or a network failure) means for the caller. */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof CustomerIORequestError || (error as { statusCode?: unknown })?.statusCode !== undefined) {
    const e = error as CustomerIORequestError;
    let body: unknown = null;
    try { body = e.body ? JSON.parse(e.body) : null; } catch { body = null; }
    const message = customerIoMessage(body, e.body ?? e.message);
    const status = e.statusCode;
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: 'retry', status, retryAfterMs: parseRetryAfter(e.response?.headers?.['retry-after']), message };
    }
    return { kind: 'reject', status, message };
  }
  // No answer: a dropped connection, DNS, a timeout.
  return { kind: 'retry', status: null, retryAfterMs: null, message: String((error as Error)?.message ?? error).slice(0, 300) };
}

async function attempt<T>(run: () => Promise<unknown>, read: (body: any) => T): Promise<Outcome<T>> {
  try {
    return { kind: 'ok', value: read(await run()) };
  } catch (error) {
    return classifyFailure(error);
  }
}

export interface CioSegmentSummary { id: number; name: string; type: string }
export interface CioBroadcast { id: number; name: string; active: boolean }
/** A broadcast's totals as Customer.io reports them (App API metrics series, summed): for the whole broadcast, not one trigger. */
export interface CioBroadcastMetrics { sent: number; delivered: number; opened: number; clicked: number; bounced: number; unsubscribed: number }
export interface CioPerson { id?: string; email?: string; cio_id?: string }
/** Customer.io's audienceFilter (segment leaves and and/or/not): a trigger's `recipients` when a segment mirror is the audience. */
export type AudienceFilter = { segment: { id: number } } | { and: AudienceFilter[] } | { or: AudienceFilter[] } | { not: AudienceFilter };

export type Recipients =
  | AudienceFilter
  | { emails: string[]; email_ignore_missing: true }
  /** A test send to one address: a missing person is an error Customer.io reports, not a silent skip. */
  | { emails: [string] }
  | { ids: string[]; id_ignore_missing: true }
  | { per_user_data: Array<Record<string, unknown>>; id_ignore_missing: true; email_ignore_missing: true };

export class CustomerIo {
  constructor(private readonly clients: CustomerIoClients) {}

  // ---- Track API -------------------------------------------------------------------------------

  /** v2 batch: identify / event / merge operations for many people in one call. */
  async batch(ops: V2Operation[]): Promise<BatchOutcome> {
    try {
      const body = (await this.clients.track.batch(ops as never)) as { errors?: BatchItemError[] } | null;
      return Array.isArray(body?.errors) && body.errors.length ? { kind: 'partial', errors: body.errors } : { kind: 'ok' };
    } catch (error) {
      return classifyFailure(error);
    }
  }

  /** Adds or removes up to 1,000 people of one identifier type to or from a manual segment. */
  segmentMembers(action: 'add' | 'remove', segmentId: number, ids: string[], idType: 'id' | 'email'): Promise<Outcome<void>> {
    const t = this.clients.track;
    return attempt(() => (action === 'add' ? t.addCustomersToSegment(segmentId, ids, idType as IdentifierType) : t.removeCustomersFromSegment(segmentId, ids, idType as IdentifierType)), () => undefined);
  }

  /** The account's region (Track credentials): which data center the workspace lives in. */
  region(): Promise<Outcome<{ url: string; region: string }>> {
    return attempt(() => this.clients.track.getAccountRegion(), (b: { url?: string; region?: string }) => ({ url: String(b?.url ?? ''), region: String(b?.region ?? '') }));
  }

  /**
   * Whether the workspace takes `email` as an identifier, asked harmlessly: an identify by an address
   * nobody has, with `_update: true` ("never create"). Accepted: email is an identifier (and nobody
   * was made); refused with Customer.io's "email … disabled" words: it is not; anything else: unknown.
   */
  async emailIdentifierAllowed(): Promise<Outcome<boolean | null>> {
    const probe = `sharpsend-probe-${crypto.randomUUID()}@example.invalid`;
    const outcome = await attempt(() => this.clients.track.identify(probe, { _update: true }), () => true);
    if (outcome.kind === 'reject' && outcome.status === 400) return { kind: 'ok', value: EMAIL_IDENTIFIER_REFUSED.test(outcome.message) ? false : null };
    return outcome;
  }

  // ---- App API ---------------------------------------------------------------------------------

  listSegments(): Promise<Outcome<CioSegmentSummary[]>> {
    return attempt(() => this.clients.app.listSegments(), (b: { segments?: Array<{ id: number; name: string; type?: string }> }) =>
      (b?.segments ?? []).map((s) => ({ id: Number(s.id), name: String(s.name), type: s.type ?? 'dynamic' })));
  }

  segmentCount(segmentId: number): Promise<Outcome<number>> {
    return attempt(() => this.clients.app.getSegmentCustomerCount(segmentId), (b: { count?: number }) => Number(b?.count ?? 0));
  }

  createSegment(name: string, description: string): Promise<Outcome<{ id: number }>> {
    return attempt(() => this.clients.app.createSegment({ name, description }), (b: { segment?: { id?: number } }) => ({ id: Number(b?.segment?.id) }));
  }

  deleteSegment(segmentId: number): Promise<Outcome<void>> {
    return attempt(() => this.clients.app.deleteSegment(segmentId), () => undefined);
  }

  listBroadcasts(): Promise<Outcome<CioBroadcast[]>> {
    return attempt(() => this.clients.app.listBroadcasts(), (b: { broadcasts?: Array<{ id: number; name: string; active?: boolean }> }) =>
      (b?.broadcasts ?? []).map((x) => ({ id: Number(x.id), name: String(x.name), active: x.active ?? true })));
  }

  /** The broadcast's delivery metrics (GET /v1/broadcasts/{id}/metrics), each series summed. */
  broadcastMetrics(broadcastId: number): Promise<Outcome<CioBroadcastMetrics>> {
    const sum = (v: unknown) => (Array.isArray(v) ? v.reduce((n: number, x) => n + (Number(x) || 0), 0) : 0);
    return attempt(() => this.clients.app.getBroadcastMetrics(broadcastId), (b: { metric?: { series?: Record<string, unknown> } }) => {
      const series = b?.metric?.series ?? {};
      return { sent: sum(series.sent), delivered: sum(series.delivered), opened: sum(series.opened), clicked: sum(series.clicked),
        bounced: sum(series.bounced), unsubscribed: sum(series.unsubscribed) };
    });
  }

  /** Triggers an API-triggered broadcast for these recipients; the answer names the trigger. */
  triggerBroadcast(broadcastId: number, data: Record<string, unknown>, recipients: Recipients): Promise<Outcome<{ triggerId: number | null }>> {
    return attempt(() => this.clients.app.triggerBroadcast(broadcastId, data, recipients as never), (b: { id?: number }) => ({ triggerId: Number(b?.id ?? 0) || null }));
  }

  /** The triggers of one broadcast, newest last: how we learn whether an unclear trigger went through. */
  broadcastTriggers(broadcastId: number): Promise<Outcome<Array<{ id: number; createdAt: number }>>> {
    return attempt(() => this.clients.app.getBroadcastTriggers(broadcastId), (b: { triggers?: Array<{ id: number; created_at?: number }> }) =>
      (b?.triggers ?? []).map((t) => ({ id: Number(t.id), createdAt: Number(t.created_at ?? 0) * 1000 })));
  }

  /** One transactional email (the welcome), to one address. */
  sendTransactional(input: { messageId: string | number; to: string; identifiers: { email: string } | { id: string }; data: Record<string, unknown> }): Promise<Outcome<{ deliveryId: string | null }>> {
    const request = new SendEmailRequest({
      transactional_message_id: input.messageId, to: input.to, identifiers: input.identifiers, message_data: input.data,
    } as ConstructorParameters<typeof SendEmailRequest>[0]);
    return attempt(() => this.clients.app.sendEmail(request), (b: { delivery_id?: string }) => ({ deliveryId: String(b?.delivery_id ?? '') || null }));
  }

  /** One person's attributes (App API), or null when Customer.io has no such person. */
  async personAttributes(id: string, idType: 'id' | 'email'): Promise<Outcome<Record<string, string> | null>> {
    const outcome = await attempt(() => this.clients.app.getAttributes(id, idType as IdentifierType),
      (b: { customer?: { attributes?: Record<string, string> } }) => b?.customer?.attributes ?? {});
    return outcome.kind === 'reject' && outcome.status === 404 ? { kind: 'ok', value: null } : outcome;
  }

  /** One page of everyone in the workspace (the backfill): identifiers only. */
  searchPeople(cursor: string, limit: number): Promise<Outcome<{ people: CioPerson[]; next: string }>> {
    // "has an email, or has not": Customer.io's search needs a filter, this one matches everybody.
    const everyone = { or: [{ attribute: { field: 'email', operator: 'exists' } }, { not: { attribute: { field: 'email', operator: 'exists' } } }] };
    return attempt(() => this.clients.app.searchCustomers(everyone as never, { start: cursor || undefined, limit }),
      (b: { identifiers?: CioPerson[]; next?: string }) => ({ people: b?.identifiers ?? [], next: b?.next ?? '' }));
  }
}

/** The one factory: a gateway for these credentials (CUSTOMERIO_BASE_URL replaces the hosts locally). */
export function customerIo(credentials: CustomerIoCredentials, baseUrlOverride?: string): CustomerIo {
  return new CustomerIo(customerIoClients(credentials, baseUrlOverride));
}
