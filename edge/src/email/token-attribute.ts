/**
 * The sync writes each reader's signed token as a person attribute (`<prefix>ptoken`), so an email
 * template builds the pixel and link URLs with plain Liquid and no secret ever sits in a template.
 */
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';
import { type SigningKey, signReaderToken, tokenAttribute } from '#shared/email/tokens.ts';
import { BoundedMap } from '#shared/bounded-map.ts';

/**
 * Tokens this isolate signed lately. A reader's token is the same for as long as the key is (one
 * nonce per workspace, key and reader), and a reader who keeps opening is synced again every
 * minute or so: signed once, not once per sync. Values only; bounded, the oldest going first.
 */
const signed = new BoundedMap<string, string>(20_000);

async function readerToken(workspace: string, readerKey: string, key: SigningKey): Promise<string> {
  // The key's secret too: a workspace made again under the same id starts over at kid `k1`.
  const id = `${workspace}|${key.kid}|${key.key}|${readerKey}`;
  let token = signed.get(id);
  if (token === undefined) {
    token = await signReaderToken(workspace, readerKey, key);
    signed.set(id, token);
  }
  return token;
}

/** Adds the token (newest key) to every reader snapshot; ready-made operations are left alone. */
export async function addReaderTokens(snapshots: SyncSnapshot[], workspace: string, prefix: string, key: SigningKey | undefined): Promise<void> {
  if (!key) return;
  await Promise.all(snapshots.map(async (snapshot) => {
    if (snapshot.raw || !/^[aeu]:/.test(snapshot.key)) return;
    snapshot.attributes[tokenAttribute(prefix)] = await readerToken(workspace, snapshot.key, key);
  }));
}
