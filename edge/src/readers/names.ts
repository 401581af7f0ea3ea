/**
 * Where readers and outbox shards live. A reader object is named by workspace and reader key, so
 * every event touches only its own reader; the outbox is split into shards so no single object
 * takes every change of a busy workspace.
 */
export type ReaderKey = `a:${string}` | `e:${string}` | `u:${string}`;

export const anonymousKey = (anonymousId: string): ReaderKey => `a:${anonymousId}`;
export const emailKey = (email: string): ReaderKey => `e:${email.trim().toLowerCase()}`;
export const userKey = (userId: string): ReaderKey => `u:${userId}`;

export const readerObjectName = (workspace: string, key: string) => `${workspace}|${key}`;
export const shardObjectName = (workspace: string, shard: number) => `${workspace}#sync-${shard}`;

/** FNV-1a: a stable, cheap spread of reader keys over the shards. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}
