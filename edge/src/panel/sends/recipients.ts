/**
 * Who a send goes to, as Customer.io takes it. A send stores its audience (one identifier per
 * reader, fixed when it is queued) and a broadcast trigger carries it in one of the three forms
 * Customer.io accepts. Pure.
 */
import type { AudienceFilter, Recipients } from '#edge/customerio/gateway.ts';
import type { SegmentView } from '#shared/panel-api.ts';
import { type ReaderSummary, cioIdentifier } from '#shared/panel.ts';
import type { IdentifierMode } from '#shared/identity.ts';

export interface Recipient { key: string; idType: 'id' | 'email'; value: string }

/**
 * Customer.io's cap on ids / emails / per_user_data in one broadcast trigger: a larger audience
 * goes in chunks of at most this many, one trigger per broadcast interval.
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

/**
 * The audience filters of a send's variations when every variation's segment is mirrored in
 * Customer.io and in sync (nothing pending, no error, no rule re-evaluation under way): variation i
 * reaches its segment less the segments of the variations before it (first variation wins), in one
 * trigger. Null when any segment is not in sync: the send then goes in recipient chunks.
 */
export function mirrorFilters(segments: ReadonlyArray<Pick<SegmentView, 'cioSegmentId' | 'pending' | 'syncError' | 'evaluating'> | null>): AudienceFilter[] | null {
  const ids: number[] = [];
  for (const s of segments) {
    if (!s || s.cioSegmentId === null || s.pending > 0 || s.syncError !== null || s.evaluating !== null) return null;
    ids.push(s.cioSegmentId);
  }
  return ids.map((id, i) => {
    const earlier = [...new Set(ids.slice(0, i))];
    const own: AudienceFilter = { segment: { id } };
    if (!earlier.length) return own;
    const before: AudienceFilter = earlier.length === 1 ? { segment: { id: earlier[0]! } } : { or: earlier.map((e) => ({ segment: { id: e } })) };
    return { and: [own, { not: before }] };
  });
}

/** One audience form, as Customer.io requires: emails, ids, or per-person rows when they are mixed. */
export function recipientsOf(audience: readonly Recipient[]): Recipients {
  if (audience.every((r) => r.idType === 'email')) return { emails: audience.map((r) => r.value), email_ignore_missing: true };
  if (audience.every((r) => r.idType === 'id')) return { ids: audience.map((r) => r.value), id_ignore_missing: true };
  return { per_user_data: audience.map((r) => ({ [r.idType]: r.value, data: {} })), id_ignore_missing: true, email_ignore_missing: true };
}
