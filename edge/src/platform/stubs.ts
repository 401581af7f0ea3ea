/**
 * How to reach each Durable Object, in one place: the naming (readers/names.ts) and the binding
 * meet here, so no caller spells `env.X.get(env.X.idFromName(...))` itself.
 */
import type { Env } from '#edge/env.ts';
import { readerObjectName, shardObjectName, shardOf } from '#edge/readers/names.ts';

export const workspaceStub = (env: Env, workspace: string) => env.WORKSPACES.get(env.WORKSPACES.idFromName(workspace));

export const readerStub = (env: Env, workspace: string, key: string) => env.READERS.get(env.READERS.idFromName(readerObjectName(workspace, key)));

export const shardStub = (env: Env, workspace: string, shard: number) => env.SYNC.get(env.SYNC.idFromName(shardObjectName(workspace, shard)));

/** The outbox shard a reader key belongs to. */
export const shardFor = (env: Env, workspace: string, key: string, shards: number) => shardStub(env, workspace, shardOf(key, shards));

/** Every outbox shard of a workspace. */
export const allShards = (env: Env, workspace: string, shards: number) => Array.from({ length: shards }, (_, n) => shardStub(env, workspace, n));

export const directoryStub = (env: Env, workspace: string) => env.DIRECTORY.get(env.DIRECTORY.idFromName(workspace));

export const sendQueueStub = (env: Env, workspace: string) => env.SENDS.get(env.SENDS.idFromName(workspace));
