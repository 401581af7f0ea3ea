/**
 * Sending by fetch, and reading the edge's answer: the part of sending that is not the common
 * path. A page view's read goes by beacon when the page is hidden (outbox.ts, in the loader);
 * this runs only for what needs an answer or a retry — an outbox left by an earlier page, a read
 * ended by a single-page navigation, a `track` or preferences event, a sign-up, a click grant —
 * so it lives in the on-demand chunk sharpsend-net.js (net.ts) and costs the loader nothing.
 */
import type { GrantEventInput, ReaderEventInput } from '#shared/protocol.ts';

export type WireEvent = ReaderEventInput | GrantEventInput;
export interface Endpoint {
  endpoint: string;
  workspace: string;
}
/**
 * What the chunk hands the loader. For an outbox batch `settle` is given, and the loader's
 * `inFlight` (ids in a request not answered yet): events already in one are left out (a second
 * flush while the first is under way), and the batch is settled — `settle` called with what was sent —
 * once the edge took it or refused it for good, not when it is worth another try.
 */
export type Post = <E extends WireEvent>(o: Endpoint, events: E[], settle?: (sent: E[]) => void, inFlight?: Set<string>) => Promise<Response | null> | null;

/** 5xx, rate limits, timeouts and network failures are worth another try; other 4xx are not. */
export const retryable = (status?: number): boolean => !status || status > 499 || status == 429 || status == 408;

export const post: Post = (o, events, settle, inFlight) => {
  if (settle) events = events.filter((e) => !inFlight!.has(e.id!));
  const ids = events.map((e) => e.id!);
  if (!ids.length) return null;
  if (settle) ids.forEach((id) => inFlight!.add(id));
  // A string body goes as text/plain;charset=UTF-8, a "simple" request: no CORS preflight.
  return fetch(o.endpoint, { method: 'POST', body: JSON.stringify({ workspace: o.workspace, events }), keepalive: true })
    .catch(() => null)
    .then((res) => {
      const status = res?.status; // undefined: no answer at all
      if (settle) {
        ids.forEach((id) => inFlight!.delete(id));
        if (!retryable(status)) {
          settle(events);
          if (status! > 299) res!.text().then((t) => console.warn('SharpSend:', status, t));
        }
      }
      return res;
    });
};
