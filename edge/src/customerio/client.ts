/**
 * customerio-node's clients, built one way. Base URLs come from the workspace's region, or from
 * CUSTOMERIO_BASE_URL (the fake, locally). customerio-node's own blocking retries are off: the
 * objects' alarms own the retry schedule, so two retry loops never stack.
 *
 * One transport change: customerio-node 5.2.0 parses every answer as JSON before it looks at the
 * status, so a 429 or 502 with an HTML body (a load balancer's page) becomes a plain Error with no
 * status, and a 401 from a proxy would look retryable. Our `execute` keeps customerio-node's
 * request building (paths, auth, bodies) and its redirect rule, and always throws a
 * CustomerIORequestError carrying the status, the headers and the raw body.
 * Only this folder uses these clients; everything else goes through `gateway.ts`.
 */
import { APIClient, CustomerIORequestError, RegionEU, RegionUS, TrackClient } from 'customerio-node';
import type { CustomerIoCredentials } from '#shared/workspace.ts';

const NO_RETRIES = { maxRetries: 0 } as const;
const TIMEOUT_MS = 15_000;
const REDIRECTS = new Set([301, 302, 307, 308]);

export interface CustomerIoClients { track: TrackClient; app: APIClient }

interface RequestOptions { uri: string; method: string; headers: Record<string, string | number>; body: BodyInit | null }

async function execute(options: RequestOptions, hops = 0): Promise<unknown> {
  const response = await fetch(options.uri, {
    method: options.method,
    headers: Object.fromEntries(Object.entries(options.headers).map(([k, v]) => [k, String(v)])),
    body: options.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (REDIRECTS.has(response.status) && hops < 3) {
    await response.text();
    const location = response.headers.get('location');
    if (!location) throw new Error(`Customer.io answered ${response.status} without a Location header`);
    // As customerio-node does: credentials follow a redirect only to another customer.io host.
    const headers = { ...options.headers };
    try {
      if (!new URL(location).hostname.endsWith('.customer.io')) delete headers.Authorization;
    } catch { /* relative: same host */ }
    return execute({ ...options, uri: location, headers }, hops + 1);
  }
  const text = await response.text();
  let json: unknown = null;
  try { json = text ? JSON.parse(text) : {}; } catch { json = null; }
  if (response.ok && json !== null) return json;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => { headers[name] = value; });
  const meta = { statusCode: response.status, headers, ok: response.ok };
  throw new CustomerIORequestError((json ?? {}) as never, response.status, meta as never, text);
}

function withTransport<T extends TrackClient | APIClient>(client: T): T {
  (client.request as unknown as { execute: typeof execute }).execute = execute;
  return client;
}

export function customerIoClients(credentials: CustomerIoCredentials, baseUrlOverride?: string): CustomerIoClients {
  const region = credentials.region === 'eu' ? RegionEU : RegionUS;
  const base = baseUrlOverride?.replace(/\/+$/, '');
  return {
    track: withTransport(new TrackClient(credentials.siteId, credentials.trackKey, {
      region, timeout: TIMEOUT_MS, retry: NO_RETRIES, ...(base ? { url: `${base}/api/v1` } : {}),
    })),
    app: withTransport(new APIClient(credentials.appKey, {
      region, timeout: TIMEOUT_MS, retry: NO_RETRIES, ...(base ? { url: `${base}/v1` } : {}),
    })),
  };
}
