/**
 * Who a send goes to, as Customer.io takes it. A send stores its audience (one identifier per
 * reader, fixed when it is queued) and a broadcast trigger carries it in one of the three forms
 * Customer.io accepts. Pure.
 */
import type { Recipients } from '#edge/customerio/gateway.ts';
import { type ReaderSummary, cioIdentifier } from '#shared/panel.ts';
import type { IdentifierMode } from '#shared/identity.ts';

export interface Recipient { key: string; idType: 'id' | 'email'; value: string }

/**
 * Customer.io's cap on ids / emails / per_user_data in one broadcast trigger. A broadcast to a
 * larger segment is refused (422) rather than split: a journey send has no cap.
 */
export const MAX_RECIPIENTS = 10_000;

/** The readers Customer.io can address (shared/identity.ts: a user id, else an email or its id form); readers with neither are left out. */
export function audienceOf(members: readonly ReaderSummary[], mode: IdentifierMode = 'email_or_id'): Recipient[] {
  const audience: Recipient[] = [];
  for (const m of members) {
    const ident = cioIdentifier(m, mode);
    if (ident) audience.push({ key: m.key, ...ident });
  }
  return audience;
}

/** Why this audience cannot be queued in this mode, or null when it can. */
export function tooManyRecipients(mode: 'broadcast' | 'journey', count: number): string | null {
  if (mode !== 'broadcast' || count <= MAX_RECIPIENTS) return null;
  return `A broadcast trigger takes at most ${MAX_RECIPIENTS} recipients; this segment has ${count}. Use a journey send instead.`;
}

/** One audience form, as Customer.io requires: emails, ids, or per-person rows when they are mixed. */
export function recipientsOf(audience: readonly Recipient[]): Recipients {
  if (audience.every((r) => r.idType === 'email')) return { emails: audience.map((r) => r.value), email_ignore_missing: true };
  if (audience.every((r) => r.idType === 'id')) return { ids: audience.map((r) => r.value), id_ignore_missing: true };
  return { per_user_data: audience.map((r) => ({ [r.idType]: r.value, data: {} })), id_ignore_missing: true, email_ignore_missing: true };
}
