/**
 * Tokens this isolate opened lately, so a reader's repeat opens (a mail app's prefetch, then the
 * reader, then a second device) cost one decryption rather than one each. Values only, never a
 * promise (no request awaits another's work). An entry stands while the key it was opened with
 * is still one of the workspace's keys, secret and all: a retired key's tokens are refused again at
 * once, and so are those of a workspace made again under the same id (its keys start over at `k1`).
 * Bounded; the oldest entries go first.
 */
import { type SigningKey, type TokenCheck, verifyReaderToken } from '#shared/email/tokens.ts';
import { BoundedMap } from '#shared/bounded-map.ts';

const opened = new BoundedMap<string, { readerKey: string; kid: string; secret: string }>(20_000);

export async function openReaderToken(workspace: string, token: string, keys: readonly SigningKey[]): Promise<TokenCheck> {
  const id = `${workspace}/${token}`;
  const hit = opened.get(id);
  if (hit && keys.some((k) => k.kid === hit.kid && k.key === hit.secret)) return { ok: true, readerKey: hit.readerKey, kid: hit.kid };
  const check = await verifyReaderToken(workspace, token, keys);
  if (check.ok) opened.set(id, { readerKey: check.readerKey, kid: check.kid, secret: keys.find((k) => k.kid === check.kid)!.key });
  return check;
}
