/**
 * The only place that builds Customer.io clients. Base URLs come from the workspace's region, or
 * from CUSTOMERIO_BASE_URL (the fake, locally). customerio-node's own blocking retries are off:
 * the outbox's alarms own the retry schedule, so two retry loops never stack.
 */
import { APIClient, RegionEU, RegionUS, TrackClient } from 'customerio-node';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { parseRetryAfter } from '#edge/sync/pacing.ts';
import type { V2Operation } from './batch.ts';

const NO_RETRIES = { maxRetries: 0 } as const;
const TIMEOUT_MS = 15_000;

export interface CustomerIoClients { track: TrackClient; app: APIClient }

export function customerIoClients(credentials: CustomerIoCredentials, baseUrlOverride?: string): CustomerIoClients {
  const region = credentials.region === 'eu' ? RegionEU : RegionUS;
  const base = baseUrlOverride?.replace(/\/+$/, '');
  return {
    track: new TrackClient(credentials.siteId, credentials.trackKey, {
      region, timeout: TIMEOUT_MS, retry: NO_RETRIES, ...(base ? { url: `${base}/api/v1` } : {}),
    }),
    app: new APIClient(credentials.appKey, {
      region, timeout: TIMEOUT_MS, retry: NO_RETRIES, ...(base ? { url: `${base}/v1` } : {}),
    }),
  };
}

export type CallOutcome =
  | { kind: 'ok'; body: unknown }
  /** v2 batch 207: these operations failed, the others were applied. */
  | { kind: 'partial'; errors: Array<{ batch_index: number; reason?: string; field?: string; message?: string }> }
  /** 429, 5xx, 408 or no answer: worth trying again later. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; message: string }
  /** Any other 4xx: the request itself is wrong and will not succeed as it is. */
  | { kind: 'reject'; status: number; message: string };

interface CustomerIoRequestErrorLike {
  statusCode?: number;
  message?: string;
  response?: { headers?: Record<string, string> };
}

/** Runs one Customer.io call and classifies what happened, without throwing. */
export async function call<T>(run: () => Promise<T>): Promise<CallOutcome> {
  try {
    const body = await run();
    const errors = (body as { errors?: unknown } | null)?.errors;
    if (Array.isArray(errors) && errors.length) return { kind: 'partial', errors };
    return { kind: 'ok', body };
  } catch (error) {
    const e = error as CustomerIoRequestErrorLike;
    const status = typeof e.statusCode === 'number' ? e.statusCode : null;
    const message = String(e.message ?? error).slice(0, 500);
    if (status === null || status === 408 || status === 429 || status >= 500) {
      return { kind: 'retry', status, retryAfterMs: parseRetryAfter(e.response?.headers?.['retry-after']), message };
    }
    return { kind: 'reject', status, message };
  }
}

export const sendBatch = (clients: CustomerIoClients, ops: V2Operation[]) =>
  call(() => clients.track.batch(ops as Parameters<TrackClient['batch']>[0]));
