/**
 * Click-through grants: what a tracked link's 302 puts in the landing page's URL fragment
 * (`#ss_grant=<grant>`), so the widget can tell the edge "this browser belongs to the reader who
 * clicked" without the page ever seeing who that is. Pure WebCrypto (workerd and Node), no I/O.
 *
 *     <kid>.<base64url(nonce ‖ AES-GCM(grantKey, JSON {r: reader key, x: expires at ms, g: grant id}, aad "g1|workspace|kid"))>
 *
 * Opaque like the reader token (shared/email/tokens.ts) but under its own key (a distinct purpose
 * string over the same signing key), so a reader token can never pass for a grant or the other way
 * round. The nonce is random: every click makes a new grant. GCM's tag is the signature.
 *
 * The grant id is the same for every click from one email delivery (it is derived from the reader
 * and the delivery), so "how many browsers redeemed this grant" counts browsers per email: a
 * forwarded email shares its id with the original and is bounded with it.
 */
import { b64url } from '../encoding.ts';
import { GCM_NONCE_BYTES, hmacSha256, sealBox } from '../crypto.ts';
import { type SigningKey, openKeyed } from './tokens.ts';

const encoder = new TextEncoder();
const READER_KEY = /^[aeu]:.{1,300}$/s;
const GRANT_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** A grant is a few hundred bytes at most; anything longer is not one of ours. */
export const MAX_GRANT_LENGTH = 1024;
export const DAY_MS = 24 * 3600 * 1000;

export interface Grant { readerKey: string; expiresAt: number; grantId: string }

export type GrantCheck =
  | ({ ok: true; kid: string } & Grant)
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' };

const aad = (purpose: SealPurpose, workspace: string, kid: string) => `${purpose.tag}|${workspace}|${kid}`;

/** The id shared by every grant made for one reader and one delivery (`delivery` null: one per campaign). */
export async function grantIdFor(workspace: string, readerKey: string, delivery: string | null, campaign: string | null, key: SigningKey): Promise<string> {
  return b64url((await hmacSha256(`${key.key}|grant-id`, `${workspace}|${readerKey}|${delivery ?? ''}|${campaign ?? ''}`)).slice(0, 16));
}

/**
 * What a sealed claim is for: its own key (purpose string over the signing key) and aad tag, so a
 * claim made for one purpose never opens as another. Confirm links (shared/email/confirm-tokens.ts)
 * are the same sealed shape under their own purpose.
 */
export interface SealPurpose { secret: string; tag: string }
const GRANT: SealPurpose = { secret: 'sharpsend-click-grant', tag: 'g1' };

export async function signGrant(
  workspace: string, grant: Grant, key: SigningKey,
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) => crypto.getRandomValues(b),
): Promise<string> {
  return sealClaim(GRANT, workspace, grant, key, random);
}

/** `now` decides expiry (injected: tests move it). A grant is good until `expiresAt`, exclusive. */
export async function verifyGrant(workspace: string, grant: string, keys: readonly SigningKey[], now: number): Promise<GrantCheck> {
  return openClaim(GRANT, workspace, grant, keys, now);
}

export async function sealClaim(
  purpose: SealPurpose, workspace: string, grant: Grant, key: SigningKey,
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) => crypto.getRandomValues(b),
): Promise<string> {
  const nonce = random(new Uint8Array(GCM_NONCE_BYTES));
  const plain = encoder.encode(JSON.stringify({ r: grant.readerKey, x: grant.expiresAt, g: grant.grantId }));
  return `${key.kid}.${b64url(await sealBox(`${purpose.secret}|${key.key}`, nonce, aad(purpose, workspace, key.kid), plain))}`;
}

export async function openClaim(purpose: SealPurpose, workspace: string, grant: string, keys: readonly SigningKey[], now: number): Promise<GrantCheck> {
  if (grant.length > MAX_GRANT_LENGTH) return { ok: false, reason: 'malformed' };
  const opened = await openKeyed(grant, keys, 2, (key) => `${purpose.secret}|${key.key}`, (kid) => aad(purpose, workspace, kid));
  if (!opened.ok) return opened;
  let body: { r?: unknown; x?: unknown; g?: unknown };
  try {
    body = JSON.parse(opened.plain) as typeof body;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const { r, x, g } = body ?? {};
  if (typeof r !== 'string' || !READER_KEY.test(r) || typeof x !== 'number' || !Number.isFinite(x) || typeof g !== 'string' || !GRANT_ID.test(g)) {
    return { ok: false, reason: 'malformed' };
  }
  if (now >= x) return { ok: false, reason: 'expired' };
  return { ok: true, kid: opened.kid, readerKey: r, expiresAt: x, grantId: g };
}

/** Why a grant was refused, in words a developer reading the 4xx understands. */
export const GRANT_REASONS: Record<Exclude<GrantCheck, { ok: true }>['reason'], string> = {
  malformed: 'is not a grant made by this edge',
  unknown_key: 'was signed with a key this workspace no longer has',
  bad_signature: 'was changed or belongs to another workspace (signature does not match)',
  expired: 'has expired: grants last a few days after the click',
};

/**
 * Puts the grant in a destination's fragment. A destination that has a fragment of its own keeps
 * it (`#section&ss_grant=…`); the widget takes only its own part out again.
 */
export function withGrant(destination: string, grant: string): string {
  const hash = destination.indexOf('#');
  if (hash < 0) return `${destination}#ss_grant=${grant}`;
  return `${destination}${hash === destination.length - 1 ? '' : '&'}ss_grant=${grant}`;
}
