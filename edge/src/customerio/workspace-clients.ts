/**
 * Customer.io clients for one workspace, cached per isolate for the panel's objects (the sync
 * shards keep their own). Credentials are decrypted by the workspace object, never returned to a client.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/workspace-object.ts';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { type CustomerIoClients, customerIoClients } from './client.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const TTL_MS = 30_000;
const cache = new Map<string, { at: number; value: { workspace: EdgeWorkspace; clients: CustomerIoClients } }>();

export async function workspaceClients(env: Env, id: string): Promise<{ workspace: EdgeWorkspace; clients: CustomerIoClients } | null> {
  const hit = cache.get(id);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
  const stub = workspaceStub(env, id);
  const [workspace, credentials] = await Promise.all([stub.edgeView(), stub.credentials()]);
  if (!workspace || !credentials) return null;
  const value = { workspace, clients: customerIoClients(credentials as CustomerIoCredentials, env.CUSTOMERIO_BASE_URL || undefined) };
  cache.set(id, { at: Date.now(), value });
  return value;
}
