/**
 * Signing keys and the webhook secret, cached per isolate like the workspace settings: the pixel
 * is the busiest URL there is and must not wait on the workspace's object. Rotation and
 * retirement reach other isolates within the TTL (this one at once: the admin routes call
 * `forgetWorkspace`).
 */
import type { Env } from '#edge/env.ts';
import type { SigningKey } from '#shared/email/tokens.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';
import { TtlCache } from '#edge/platform/ttl-cache.ts';

const TTL_MS = 30_000;
const keys = new TtlCache<SigningKey[]>(TTL_MS);
const secrets = new TtlCache<string | null>(TTL_MS);

export const signingKeys = (env: Env, id: string) => keys.get(id, () => workspaceStub(env, id).signingKeys());
export const webhookSecret = (env: Env, id: string) => secrets.get(id, () => workspaceStub(env, id).webhookSecret());

// ---- refused hits --------------------------------------------------------------------------

/**
 * Refused pixel and click hits are added up per isolate and flushed to the workspace's object by
 * whichever request finds no flush running: a flood of forged hits costs a counter, not an RPC per
 * hit. No request awaits another's promise (workerd fails that): the flushing request drains
 * everything added while its RPC was in flight, the others only add and return. A failed flush
 * puts its counts back for the next one.
 */
const pending = new Map<string, Record<string, number>>();
const flushing = new Set<string>();

export async function countRejected(env: Env, id: string, reason: string): Promise<void> {
  addCounts(id, { [reason]: 1 });
  if (flushing.has(id)) return;
  flushing.add(id);
  try {
    for (let batch = pending.get(id); batch; batch = pending.get(id)) {
      pending.delete(id);
      try {
        await workspaceStub(env, id).countRejected(batch);
      } catch (error) {
        addCounts(id, batch);
        console.warn(`email ${id}: could not count refused hits yet: ${(error as Error).message}`);
        return;
      }
    }
  } finally {
    flushing.delete(id);
  }
}

function addCounts(id: string, counts: Record<string, number>): void {
  const into = pending.get(id) ?? {};
  for (const [reason, n] of Object.entries(counts)) into[reason] = (into[reason] ?? 0) + n;
  pending.set(id, into);
}
