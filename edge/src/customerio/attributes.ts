/**
 * What a reader looks like in Customer.io: identifiers and the attributes the sync writes.
 * Pure, so the mapping is documented by its tests. Timestamps are Unix seconds, as Customer.io wants.
 *
 * Identity rule (README "Identity"): a reader the publisher's backend named gets `{id: userId}`;
 * a reader known only by a widget sign-up gets `{email}`. When the backend later sends a userId
 * with that email, the same person gets the id (Customer.io's own email→id rule), and where two
 * people already exist in Customer.io they are merged with the email person as primary.
 */
import { type ReaderState, preferredContent } from '#shared/reader.ts';
import { engagementScore } from '#shared/engagement.ts';

export type PersonIdentifiers = { id: string } | { email: string };

export function personIdentifiers(r: Pick<ReaderState, 'email' | 'userId'>): PersonIdentifiers | null {
  if (r.userId) return { id: r.userId };
  if (r.email) return { email: r.email };
  return null;
}

export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Customer.io caps attribute values at 1000 bytes and names at 150. */
const safeName = (name: string) => name.replace(/[^a-z0-9_]/gi, '_').slice(0, 100);

export function readerAttributes(
  r: ReaderState,
  tags: readonly string[],
  everTags: readonly string[],
  prefix: string,
  now: number,
  extra: Record<string, string | number | boolean> = {},
): Record<string, unknown> {
  const p = prefix;
  const attrs: Record<string, unknown> = {
    [`${p}tags`]: [...tags],
    [`${p}engagement_score`]: engagementScore(r.activity, now),
    [`${p}preferred_content`]: preferredContent(r),
    [`${p}topics`]: r.topics,
  };
  if (r.email) attrs.email = r.email;
  for (const tag of new Set([...everTags, ...tags])) attrs[`${p}tag_${tag}`] = tags.includes(tag);
  for (const [name, value] of Object.entries(r.counters)) {
    // engaged time goes out in whole minutes: what people reason about in a segment builder.
    if (name.startsWith('engaged_ms')) attrs[`${p}${safeName(name.replace('engaged_ms', 'engaged_minutes'))}`] = Math.floor(value / 60_000);
    else attrs[`${p}${safeName(name)}`] = value;
  }
  if (r.lastSeen !== null) attrs[`${p}last_seen_at`] = unixSeconds(r.lastSeen);
  if (r.firstSeen !== null) attrs[`${p}first_seen_at`] = unixSeconds(r.firstSeen);
  if (r.signedUpAt !== null) attrs[`${p}signed_up_at`] = unixSeconds(r.signedUpAt);
  for (const [name, value] of Object.entries(r.traits)) {
    // The publisher's own traits pass through unprefixed: they are the publisher's attributes.
    if (!(name in attrs) && name !== 'id' && name !== 'email') attrs[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) attrs[`${p}${name}`] = value;
  return attrs;
}
