/**
 * One object per workspace holds its settings. It is read rarely: the Worker caches the edge
 * view per isolate (workspaces/config-cache.ts) and the sync shards cache the credentials, so the
 * event hot path never waits on this object.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.ts';
import type { CustomerIoCredentials, WorkspacePublic, WorkspaceSettings } from '../../../shared/workspace.ts';
import { decryptSecret, encryptSecret, randomToken, sha256Hex } from '../workspaces/secrets.ts';

interface StoredWorkspace {
  id: string;
  settings: Omit<WorkspaceSettings, 'customerio' | 'secretKey' | 'editorKey'>;
  customerio: { siteId: string; region: 'us' | 'eu'; trackKeySealed: string; appKeySealed: string } | null;
  secretKeyHash: string;
  editorKeyHash: string | null;
  /** Newest first; the key id goes into every signature so old emails keep verifying after rotation. */
  signingKeys: Array<{ kid: string; sealed: string; createdAt: number }>;
  createdAt: number;
  updatedAt: number;
}

/** What the Worker's hot path needs: no secret in it, only hashes. */
export interface EdgeWorkspace extends Omit<WorkspacePublic, 'customerio'> {
  customerioConfigured: boolean;
  secretKeyHash: string;
  editorKeyHash: string | null;
}

export class WorkspaceObject extends DurableObject<Env> {
  private async load(): Promise<StoredWorkspace | undefined> {
    return this.ctx.storage.get<StoredWorkspace>('workspace');
  }

  /** Creates or updates; returns the public view and, when one was made now, the secret key (shown once). */
  async upsert(id: string, input: WorkspaceSettings): Promise<{ workspace: WorkspacePublic; secretKey?: string; created: boolean }> {
    const existing = await this.load();
    const now = Date.now();
    const { customerio, secretKey, editorKey, ...settings } = input;
    if (!existing && !customerio) throw new Error('customerio credentials are required to create a workspace');
    const seal = (plain: string) => encryptSecret(plain, this.env.CONFIG_ENCRYPTION_KEY);
    let newSecret: string | undefined;
    let secretKeyHash = existing?.secretKeyHash;
    if (secretKey) secretKeyHash = await sha256Hex(secretKey);
    if (!secretKeyHash) {
      newSecret = `ss_sk_${id}_${randomToken().replace(/_/g, '-')}`;
      secretKeyHash = await sha256Hex(newSecret);
    }
    const stored: StoredWorkspace = {
      id,
      settings,
      customerio: customerio
        ? { siteId: customerio.siteId, region: customerio.region, trackKeySealed: await seal(customerio.trackKey), appKeySealed: await seal(customerio.appKey) }
        : existing!.customerio,
      secretKeyHash,
      editorKeyHash: editorKey ? await sha256Hex(editorKey) : (existing?.editorKeyHash ?? null),
      signingKeys: existing?.signingKeys ?? [{ kid: 'k1', sealed: await seal(randomToken(32)), createdAt: now }],
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.ctx.storage.put('workspace', stored);
    return { workspace: toPublic(stored), created: !existing, ...(newSecret ? { secretKey: newSecret } : {}) };
  }

  async publicView(): Promise<WorkspacePublic | null> {
    const stored = await this.load();
    return stored ? toPublic(stored) : null;
  }

  async edgeView(): Promise<EdgeWorkspace | null> {
    const stored = await this.load();
    if (!stored) return null;
    const { customerio, ...rest } = toPublic(stored);
    return { ...rest, customerioConfigured: customerio.configured, secretKeyHash: stored.secretKeyHash, editorKeyHash: stored.editorKeyHash };
  }

  /** Decrypted Customer.io keys: for the sync shards only, never for a response. */
  async credentials(): Promise<CustomerIoCredentials | null> {
    const cio = (await this.load())?.customerio;
    if (!cio) return null;
    return {
      siteId: cio.siteId,
      region: cio.region,
      trackKey: await decryptSecret(cio.trackKeySealed, this.env.CONFIG_ENCRYPTION_KEY),
      appKey: await decryptSecret(cio.appKeySealed, this.env.CONFIG_ENCRYPTION_KEY),
    };
  }

  /** Signing keys, newest first (the pixel and click tokens). */
  async signingKeys(): Promise<Array<{ kid: string; key: string }>> {
    const stored = await this.load();
    if (!stored) return [];
    return Promise.all(stored.signingKeys.map(async (k) => ({ kid: k.kid, key: await decryptSecret(k.sealed, this.env.CONFIG_ENCRYPTION_KEY) })));
  }
}

function toPublic(stored: StoredWorkspace): WorkspacePublic {
  return {
    id: stored.id,
    allowedOrigins: stored.settings.allowedOrigins,
    customerio: { siteId: stored.customerio?.siteId ?? '', region: stored.customerio?.region ?? 'us', configured: Boolean(stored.customerio) },
    tagRules: stored.settings.tagRules,
    attributePrefix: stored.settings.attributePrefix,
    limits: stored.settings.limits,
    sync: stored.settings.sync,
    welcomeMessageId: stored.settings.welcomeMessageId ?? null,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
