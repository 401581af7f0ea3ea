/**
 * Where readers and outbox shards live. A reader object is named by workspace and reader key, so
 * every event touches only its own reader; the outbox is split into shards so no single object
 * takes every change of a busy workspace.
 */
import { fnv1a } from '#shared/crypto.ts';
import { normalizeEmail } from '#shared/email-address.ts';

export type ReaderKey = `a:${string}` | `e:${string}` | `u:${string}`;

export const anonymousKey = (anonymousId: string): ReaderKey => `a:${anonymousId}`;
export const emailKey = (email: string): ReaderKey => `e:${normalizeEmail(email)}`;
export const userKey = (userId: string): ReaderKey => `u:${userId}`;

export const readerObjectName = (workspace: string, key: string) => `${workspace}|${key}`;
export const shardObjectName = (workspace: string, shard: number) => `${workspace}#sync-${shard}`;

/** A stable, cheap spread of reader keys over the shards. */
export const shardOf = (key: string, shards: number): number => fnv1a(key) % shards;
