/**
 * A workspace's settings or keys changed: every cache that holds them learns it now, not when its
 * TTL runs out: this isolate's caches, each outbox shard's config, and the panel objects' caches
 * (they may live in other isolates, so each gets one RPC).
 */
import type { Env } from '#edge/env.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import { allShards, directoryStub, sendQueueStub } from '#edge/platform/stubs.ts';

export async function forgetWorkspaceEverywhere(env: Env, id: string, shards: number): Promise<void> {
  forgetWorkspace(id);
  await Promise.all([
    ...allShards(env, id, shards).map((s) => s.forgetConfig()),
    directoryStub(env, id).forgetWorkspace(id),
    sendQueueStub(env, id).forgetWorkspace(id),
  ]);
}
