/**
 * A workspace's Customer.io gateway, cached per isolate for the panel's objects and routes (the
 * sync shards keep their own beside their config). Credentials are decrypted by the workspace
 * object and never leave this isolate. The cache holds values, never a promise in flight: each
 * request awaits its own I/O (workerd fails a request that awaits another request's promise).
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/workspace-object.ts';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { type CustomerIo, customerIo } from './gateway.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

const TTL_MS = 30_000;
const cache = new Map<string, { at: number; value: WorkspaceCustomerIo }>();

export interface WorkspaceCustomerIo { workspace: EdgeWorkspace; cio: CustomerIo }

export async function workspaceCustomerIo(env: Env, id: string): Promise<WorkspaceCustomerIo | null> {
  const hit = cache.get(id);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
  const stub = workspaceStub(env, id);
  const [workspace, credentials] = await Promise.all([stub.edgeView(), stub.credentials()]);
  if (!workspace || !credentials) return null;
  const value = { workspace, cio: customerIo(credentials as CustomerIoCredentials, env.CUSTOMERIO_BASE_URL || undefined) };
  cache.set(id, { at: Date.now(), value });
  return value;
}

/** A workspace changed (new keys, new limits): the next call in this isolate reads it afresh. */
export function forgetWorkspaceCustomerIo(id: string): void {
  cache.delete(id);
}
