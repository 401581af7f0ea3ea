/**
 * Signing keys and the webhook secret, cached per isolate like the workspace settings: the pixel
 * is the busiest URL there is and must not wait on the workspace's object. Rotation and
 * retirement reach other isolates within the TTL (this one at once: the admin route forgets).
 */
import type { Env } from '#edge/env.ts';
import type { SigningKey } from '#shared/email/tokens.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const TTL_MS = 30_000;
const keys = new Map<string, { value: Promise<SigningKey[]>; expires: number }>();
const secrets = new Map<string, { value: Promise<string | null>; expires: number }>();

function cached<T>(map: Map<string, { value: Promise<T>; expires: number }>, id: string, load: () => Promise<T>): Promise<T> {
  const now = Date.now();
  const hit = map.get(id);
  if (hit && hit.expires > now) return hit.value;
  const value = load();
  map.set(id, { value, expires: now + TTL_MS });
  value.catch(() => map.delete(id));
  return value;
}

export const signingKeys = (env: Env, id: string) => cached(keys, id, () => workspaceStub(env, id).signingKeys());
export const webhookSecret = (env: Env, id: string) => cached(secrets, id, () => workspaceStub(env, id).webhookSecret());

export function forgetEmailSecrets(id: string): void {
  keys.delete(id);
  secrets.delete(id);
}

// ---- refused hits --------------------------------------------------------------------------

/**
 * Refused pixel and click hits are added up here and flushed to the workspace's object, one call in
 * flight per workspace and isolate: a flood of forged hits costs a counter, not an RPC per hit.
 */
const pending = new Map<string, Record<string, number>>();
const flushing = new Map<string, Promise<void>>();

export function countRejected(env: Env, id: string, reason: string): Promise<void> {
  const counts = pending.get(id) ?? {};
  counts[reason] = (counts[reason] ?? 0) + 1;
  pending.set(id, counts);
  let running = flushing.get(id);
  if (!running) {
    running = (async () => {
      try {
        while (pending.get(id)) {
          const batch = pending.get(id)!;
          pending.delete(id);
          await workspaceStub(env, id).countRejected(batch);
        }
      } catch (error) {
        console.warn(`email ${id}: could not count refused hits: ${(error as Error).message}`);
      } finally {
        flushing.delete(id);
      }
    })();
    flushing.set(id, running);
  }
  return running;
}
