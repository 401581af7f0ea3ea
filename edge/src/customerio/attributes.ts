/**
 * What a reader looks like in Customer.io: identifiers and the attributes the sync writes.
 * Pure, so the mapping is documented by its tests. Timestamps are Unix seconds, as Customer.io wants.
 *
 * Identity rule (README "Identity", shared/identity.ts): a reader the publisher's backend named gets
 * `{id: userId}`; a reader known only by a widget sign-up gets `{email}`, or `{id: "email:<address>"}`
 * in a workspace where email is not an identifier. When the backend later sends a userId with that
 * email, the same person gets the id (Customer.io's own email→id rule), and where two people
 * already exist in Customer.io they are merged with the email person as primary.
 */
import { type ReaderState, preferredContent } from '#shared/reader.ts';
import { engagementScore } from '#shared/engagement.ts';
import { type IdentifierMode, cioIdentifier, identifiersOf } from '#shared/identity.ts';

export type PersonIdentifiers = { id: string } | { email: string };

/** The same person to Customer.io (null is no one). */
export const sameIdentifiers = (a: PersonIdentifiers | null, b: PersonIdentifiers | null): boolean =>
  a !== null && b !== null && ('id' in a ? 'id' in b && a.id === b.id : 'email' in b && a.email === b.email);

export function personIdentifiers(r: Pick<ReaderState, 'email' | 'userId'>, mode: IdentifierMode = 'email_or_id'): PersonIdentifiers | null {
  const identifier = cioIdentifier(r, mode);
  return identifier ? identifiersOf(identifier) : null;
}

export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Customer.io caps attribute values at 1000 bytes and names at 150. */
const safeName = (name: string) => name.replace(/[^a-z0-9_]/gi, '_').slice(0, 100);

/**
 * Customer.io refuses an identify of more than 300 attributes, and a person holds at most 300: a
 * reader over it would be refused on every sync. The set is bounded by family, each capped, so an
 * identify never goes over (README "Attributes sent to Customer.io"):
 * - core (always): tags, score, preferred content, topics, email, the totals, the dates, the token;
 * - content categories, three attributes each (reads, engaged minutes, clicks), most recently read first;
 * - one `tag_<name>` flag per tag: current tags first, then lost ones (`false`), by name;
 * - the publisher's own traits, by name.
 * What is left out is counted, and the sync stats show it.
 */
export const ATTRIBUTE_LIMIT = 300;
export const ATTRIBUTE_CAPS = { categories: 40, tagFlags: 60, traits: 100 } as const;
/** Room kept for attributes added after this mapping (the email token, `sharpsend_ptoken`). */
const RESERVED = 2;

export interface OmittedAttributes { categories: number; tagFlags: number; traits: number }
export interface ReaderAttributes { attributes: Record<string, unknown>; omitted: OmittedAttributes | null }

const CATEGORY_COUNTER = /^(reads|engaged_ms|clicks)\.(.+)$/;

export function readerAttributes(
  r: ReaderState,
  tags: readonly string[],
  everTags: readonly string[],
  prefix: string,
  now: number,
  extra: Record<string, string | number | boolean> = {},
): ReaderAttributes {
  const p = prefix;
  const attrs: Record<string, unknown> = {
    [`${p}tags`]: [...tags],
    [`${p}engagement_score`]: engagementScore(r.activity, now),
    [`${p}preferred_content`]: preferredContent(r),
    [`${p}topics`]: r.topics,
  };
  if (r.email) attrs.email = r.email;
  // engaged time goes out in whole minutes: what people reason about in a segment builder.
  const counterName = (name: string) => `${p}${safeName(name.replace('engaged_ms', 'engaged_minutes'))}`;
  const counterValue = (name: string, value: number) => (name.startsWith('engaged_ms') ? Math.floor(value / 60_000) : value);
  const categories = new Map<string, Array<[string, number]>>();
  for (const [name, value] of Object.entries(r.counters)) {
    const category = CATEGORY_COUNTER.exec(name)?.[2];
    if (category === undefined) attrs[counterName(name)] = counterValue(name, value);
    else categories.set(category, [...(categories.get(category) ?? []), [name, value]]);
  }
  if (r.lastSeen !== null) attrs[`${p}last_seen_at`] = unixSeconds(r.lastSeen);
  if (r.firstSeen !== null) attrs[`${p}first_seen_at`] = unixSeconds(r.firstSeen);
  if (r.signedUpAt !== null) attrs[`${p}signed_up_at`] = unixSeconds(r.signedUpAt);
  // Double opt-in: journeys skip `confirmed: false`. After the confirmation `pending_since` is no
  // longer sent (Customer.io keeps the last value: when the sign-up began waiting).
  if (r.pendingSince) {
    attrs[`${p}confirmed`] = false;
    attrs[`${p}pending_since`] = unixSeconds(r.pendingSince);
  } else if (r.confirmedAt) {
    attrs[`${p}confirmed`] = true;
    attrs[`${p}confirmed_at`] = unixSeconds(r.confirmedAt);
  }
  for (const [name, value] of Object.entries(extra)) attrs[`${p}${name}`] = value;

  let room = ATTRIBUTE_LIMIT - RESERVED - Object.keys(attrs).length;
  const omitted: OmittedAttributes = { categories: 0, tagFlags: 0, traits: 0 };

  const readAt = r.categoryReadAt ?? {};
  const byRecency = [...categories.keys()].sort((a, b) => (readAt[b] ?? 0) - (readAt[a] ?? 0)
    || (r.counters[`reads.${b}`] ?? 0) - (r.counters[`reads.${a}`] ?? 0) || a.localeCompare(b));
  byRecency.forEach((category, i) => {
    const counters = categories.get(category)!;
    if (i >= ATTRIBUTE_CAPS.categories || counters.length > room) {
      omitted.categories++;
      return;
    }
    for (const [name, value] of counters) attrs[counterName(name)] = counterValue(name, value);
    room -= counters.length;
  });

  const lost = everTags.filter((t) => !tags.includes(t));
  [...new Set([...tags, ...lost])].forEach((tag, i) => {
    if (i >= ATTRIBUTE_CAPS.tagFlags || room <= 0) {
      omitted.tagFlags++;
      return;
    }
    attrs[`${p}tag_${tag}`] = tags.includes(tag);
    room--;
  });

  // The publisher's own traits pass through unprefixed: they are the publisher's attributes.
  const traits = Object.keys(r.traits).filter((name) => !(name in attrs) && name !== 'id' && name !== 'email').sort();
  traits.forEach((name, i) => {
    if (i >= ATTRIBUTE_CAPS.traits || room <= 0) {
      omitted.traits++;
      return;
    }
    attrs[name] = r.traits[name];
    room--;
  });
  const anyOmitted = omitted.categories + omitted.tagFlags + omitted.traits > 0;
  return { attributes: attrs, omitted: anyOmitted ? omitted : null };
}
