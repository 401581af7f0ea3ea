import type { ReaderObject } from '#edge/readers/reader-object.ts';
import type { SyncShard } from '#edge/sync/sync-shard.ts';
import type { WorkspaceObject } from '#edge/workspaces/workspace-object.ts';
import type { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
import type { SendQueue } from '#edge/panel/sends/send-queue.ts';

/** The Worker's bindings (wrangler.toml) and secrets (`wrangler secret put`). */
export interface Env {
  READERS: DurableObjectNamespace<ReaderObject>;
  WORKSPACES: DurableObjectNamespace<WorkspaceObject>;
  SYNC: DurableObjectNamespace<SyncShard>;
  /** Per workspace: the panel's directory of known readers and our segments. */
  DIRECTORY: DurableObjectNamespace<ReaderDirectory>;
  /** Per workspace: the panel's broadcast / journey sends and A/B tests. */
  SENDS: DurableObjectNamespace<SendQueue>;
  ASSETS: Fetcher;
  /** Replaces Customer.io's hosts (Track `<base>/api/v1`, App `<base>/v1`): the fake, locally. */
  CUSTOMERIO_BASE_URL?: string;
  /** Guards the admin API. */
  ADMIN_SECRET?: string;
  /** 32 bytes, base64: encrypts Customer.io keys and signing keys at rest. */
  CONFIG_ENCRYPTION_KEY?: string;
}

export type AppEnv = { Bindings: Env };
