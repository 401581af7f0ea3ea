/** What a pixel or link hit records, after the answer has gone out (`waitUntil`). */
import type { Env } from '#edge/env.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { ingestEvents } from '#edge/readers/access.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import type { EdgeEvent } from '#edge/readers/apply-event.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { NO_TOKEN } from '#shared/email/tokens.ts';
import type { Classification } from '#shared/email/classify.ts';
import { countRejected, signingKeys } from './keys.ts';
import { openReaderToken } from './opened-tokens.ts';

export interface Hit {
  workspace: string;
  token: string;
  type: 'open' | 'click';
  classification: Classification;
  at: number;
  campaign?: string;
  delivery?: string;
  category?: string;
  url?: string;
}

export type HitOutcome = 'recorded' | 'duplicate' | 'rejected' | 'no_token' | 'unknown_workspace';

export async function recordHit(env: Env, hit: Hit): Promise<HitOutcome> {
  const ws = await edgeWorkspace(env, hit.workspace);
  if (!ws) return 'unknown_workspace';
  // The snippet's default for a person without a token: not a forgery, just nobody to count.
  if (hit.token === NO_TOKEN) return 'no_token';
  const check = await openReaderToken(ws.id, hit.token, await signingKeys(env, ws.id));
  if (!check.ok) {
    await countRejected(env, ws.id, `${hit.type}_${check.reason}`);
    return 'rejected';
  }
  const key = check.readerKey as ReaderKey;
  const human = hit.classification.kind === 'human';
  const common = {
    id: ulid(hit.at), ts: hit.at, human, via: 'edge' as const, fresh: true as const,
    ...(human ? {} : { kind: hit.classification.kind }),
    ...(hit.campaign ? { campaign: hit.campaign } : {}),
    ...(hit.delivery ? { delivery: hit.delivery } : {}),
  };
  const event: EdgeEvent = hit.type === 'open'
    ? { type: 'open', ...common }
    : { type: 'click', ...common, ...(hit.category ? { category: hit.category } : {}), ...(hit.url ? { url: hit.url } : {}) };
  const result = await ingestEvents(env, ws, key, [event]);
  return result.accepted > 0 ? 'recorded' : 'duplicate';
}

export { afterResponse } from '#edge/platform/after-response.ts';
