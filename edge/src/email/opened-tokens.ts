/**
 * Tokens this isolate opened lately, so a reader's repeat opens (a mail app's prefetch, then the
 * reader, then a second device) cost one decryption rather than one each. Values only, never a
 * promise (no request awaits another's work). An entry stands while the key it was opened with
 * is still one of the workspace's keys: a retired key's tokens are refused again at once.
 * Bounded; the oldest entries go first.
 */
import { type SigningKey, type TokenCheck, verifyReaderToken } from '#shared/email/tokens.ts';

const MAX_ENTRIES = 20_000;
const opened = new Map<string, { readerKey: string; kid: string }>();

export async function openReaderToken(workspace: string, token: string, keys: readonly SigningKey[]): Promise<TokenCheck> {
  const id = `${workspace}/${token}`;
  const hit = opened.get(id);
  if (hit && keys.some((k) => k.kid === hit.kid)) return { ok: true, ...hit };
  const check = await verifyReaderToken(workspace, token, keys);
  if (check.ok) {
    if (opened.size >= MAX_ENTRIES) opened.delete(opened.keys().next().value!);
    opened.set(id, { readerKey: check.readerKey, kid: check.kid });
  }
  return check;
}
