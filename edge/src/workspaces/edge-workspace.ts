/**
 * A workspace as the edge's hot paths see it: the public settings plus the hashes that check its
 * keys. A domain type on its own (not in the object's file), so that importing it pulls in no
 * Durable Object and no `Env`.
 */
import type { WorkspacePublic } from '#shared/workspace.ts';

export interface EdgeWorkspace extends Omit<WorkspacePublic, 'customerio'> {
  customerioConfigured: boolean;
  secretKeyHash: string;
  editorKeyHash: string | null;
}
