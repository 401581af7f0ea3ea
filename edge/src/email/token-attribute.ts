/**
 * The sync writes each reader's signed token as a person attribute (`<prefix>ptoken`), so an email
 * template builds the pixel and link URLs with plain Liquid and no secret ever sits in a template.
 */
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';
import { type SigningKey, signReaderToken, tokenAttribute } from '#shared/email/tokens.ts';

/** Adds the token (newest key) to every reader snapshot; ready-made operations are left alone. */
export async function addReaderTokens(snapshots: SyncSnapshot[], workspace: string, prefix: string, key: SigningKey | undefined): Promise<void> {
  if (!key) return;
  await Promise.all(snapshots.map(async (snapshot) => {
    if (snapshot.raw || !/^[aeu]:/.test(snapshot.key)) return;
    snapshot.attributes[tokenAttribute(prefix)] = await signReaderToken(workspace, snapshot.key, key);
  }));
}
