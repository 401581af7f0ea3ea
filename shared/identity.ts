/**
 * How Customer.io knows a reader: one rule for the sync, segment membership, triggers, welcomes
 * and webhooks (README "Identity").
 *
 * - A reader the publisher's backend named gets `{id: userId}`.
 * - A reader known only by email gets `{email}` where the workspace takes email as an identifier
 *   (`email_or_id`, Customer.io's default for newer workspaces) and, in an `id_only` workspace,
 *   the stable id `email:<address>` (the address normalised: trimmed, lowercased). The prefix keeps
 *   it from being read as an email and from meeting a publisher's own ids.
 */
import { normalizeEmail } from './email-address.ts';

export type IdentifierMode = 'email_or_id' | 'id_only';
export type IdType = 'id' | 'email';
export interface CioIdentifier { idType: IdType; value: string }

export const EMAIL_ID_PREFIX = 'email:';

export const emailAsId = (email: string): string => `${EMAIL_ID_PREFIX}${normalizeEmail(email)}`;

export function cioIdentifier(r: { email: string | null; userId: string | null }, mode: IdentifierMode = 'email_or_id'): CioIdentifier | null {
  if (r.userId) return { idType: 'id', value: r.userId };
  if (r.email) return mode === 'id_only' ? { idType: 'id', value: emailAsId(r.email) } : { idType: 'email', value: r.email };
  return null;
}

/** The same identifier as a v2 / transactional `identifiers` object. */
export const identifiersOf = (i: CioIdentifier): { id: string } | { email: string } => (i.idType === 'id' ? { id: i.value } : { email: i.value });

/**
 * The reader key a Customer.io `id` stands for: `email:<address>` is an email-only reader of an
 * id-only workspace; anything else is the backend's user id.
 */
export const readerKeyOfId = (id: string): `e:${string}` | `u:${string}` =>
  (id.startsWith(EMAIL_ID_PREFIX) ? `e:${normalizeEmail(id.slice(EMAIL_ID_PREFIX.length))}` : `u:${id}`);

/**
 * Customer.io's answer when an operation names a person by email in a workspace where email is not
 * an identifier. The exact wording is not published: this matches the words the published specs use
 * ("email identifiers are disabled", "email is disabled as an identifier") and the fake's message.
 */
export const EMAIL_IDENTIFIER_REFUSED = /email (identifiers? (is|are) )?(disabled|not (enabled|allowed|an identifier))|email is disabled as an identifier/i;
