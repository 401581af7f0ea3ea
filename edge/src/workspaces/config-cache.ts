/**
 * Workspace settings cached per isolate: the event hot path reads them on every request and must
 * not wait on the workspace's object. Changes reach other isolates within the TTL.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from './workspace-object.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const FOUND_TTL_MS = 10_000;
const MISSING_TTL_MS = 2_000;
const cache = new Map<string, { value: Promise<EdgeWorkspace | null>; expires: number }>();

export function edgeWorkspace(env: Env, id: string): Promise<EdgeWorkspace | null> {
  const now = Date.now();
  const hit = cache.get(id);
  if (hit && hit.expires > now) return hit.value;
  const value = workspaceStub(env, id).edgeView();
  cache.set(id, { value, expires: now + MISSING_TTL_MS });
  value.then(
    (ws) => cache.set(id, { value, expires: now + (ws ? FOUND_TTL_MS : MISSING_TTL_MS) }),
    () => cache.delete(id),
  );
  return value;
}

export function forgetWorkspace(id: string): void {
  cache.delete(id);
}
