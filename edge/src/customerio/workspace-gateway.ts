/**
 * A workspace's Customer.io gateway, cached per isolate for the panel's objects and routes (the
 * sync shards keep their own beside their config). Credentials are decrypted by the workspace
 * object and never leave this isolate. A workspace PUT/PATCH reaches it through `forgetWorkspace`.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { type CustomerIo, customerIo } from './gateway.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';
import { TtlCache } from '#edge/platform/ttl-cache.ts';

const TTL_MS = 30_000;
const cache = new TtlCache<WorkspaceCustomerIo | null>((value) => (value ? TTL_MS : 2_000));

export interface WorkspaceCustomerIo { workspace: EdgeWorkspace; cio: CustomerIo }

export function workspaceCustomerIo(env: Env, id: string): Promise<WorkspaceCustomerIo | null> {
  return cache.get(id, async () => {
    const stub = workspaceStub(env, id);
    const [workspace, credentials] = await Promise.all([stub.edgeView(), stub.credentials()]);
    if (!workspace || !credentials) return null;
    return { workspace, cio: customerIo(credentials as CustomerIoCredentials, env.CUSTOMERIO_BASE_URL || undefined) };
  });
}
