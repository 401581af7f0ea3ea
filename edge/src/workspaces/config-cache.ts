/**
 * Workspace settings cached per isolate: the event hot path reads them on every request and must
 * not wait on the workspace's object. Changes reach this isolate at once (`forgetWorkspace` in
 * platform/ttl-cache.ts) and others within the TTL.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from './edge-workspace.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';
import { TtlCache } from '#edge/platform/ttl-cache.ts';

const FOUND_TTL_MS = 10_000;
const MISSING_TTL_MS = 2_000;
const cache = new TtlCache<EdgeWorkspace | null>((ws) => (ws ? FOUND_TTL_MS : MISSING_TTL_MS));

export function edgeWorkspace(env: Env, id: string): Promise<EdgeWorkspace | null> {
  return cache.get(id, () => workspaceStub(env, id).edgeView());
}
