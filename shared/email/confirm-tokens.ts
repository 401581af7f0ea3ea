/**
 * Double opt-in confirm links (README "Double opt-in"): `<edge>/confirm/<workspace>/<token>`, where
 * the token is a sealed claim (the same shape as a click grant, shared/email/grants.ts) under its own
 * purpose: the reader key encrypted with an expiry and a random link id. Opaque (no address in the
 * URL), unforgeable, bound to the workspace, and it expires. Single use is the reader's business: it
 * records when it was confirmed, and a second visit finds it confirmed already. Pure, no I/O.
 */
import { b64url } from '../encoding.ts';
import { type GrantCheck, type SealPurpose, openClaim, sealClaim } from './grants.ts';
import type { SigningKey } from './tokens.ts';

const CONFIRM: SealPurpose = { secret: 'sharpsend-confirm-link', tag: 'k1' };

export interface ConfirmClaim { readerKey: string; expiresAt: number; linkId: string }
export type ConfirmCheck = ({ ok: true } & ConfirmClaim) | Exclude<GrantCheck, { ok: true }>;

export const confirmPath = (workspace: string, token: string) => `/confirm/${encodeURIComponent(workspace)}/${token}`;

export async function signConfirmToken(
  workspace: string, readerKey: string, expiresAt: number, key: SigningKey,
  random: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) => crypto.getRandomValues(b),
): Promise<string> {
  const linkId = b64url(random(new Uint8Array(12)));
  return sealClaim(CONFIRM, workspace, { readerKey, expiresAt, grantId: linkId }, key, random);
}

/** `now` decides expiry (injected). Good until `expiresAt`, exclusive. */
export async function verifyConfirmToken(workspace: string, token: string, keys: readonly SigningKey[], now: number): Promise<ConfirmCheck> {
  const check = await openClaim(CONFIRM, workspace, token, keys, now);
  if (!check.ok) return check;
  return { ok: true, readerKey: check.readerKey, expiresAt: check.expiresAt, linkId: check.grantId };
}
