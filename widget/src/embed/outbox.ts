/**
 * Sending events: every event is first written to the stored outbox, then sent; it leaves the
 * outbox only once the edge took it (2xx) or refused it for good (4xx). A failed send stays for
 * the next flush (next page, coming back online). Event ids make a replay harmless: the edge
 * counts an id once. The outbox holds at most one batch (the edge's per-request limit), so
 * everything waiting goes in one request.
 */
import type { GrantEventInput, ReaderEventInput } from '#shared/protocol.ts';
import { MAX_EVENTS_PER_BATCH } from '#shared/constants.ts';
import { addToQueue, notInFlight, removeFromQueue } from './queue.ts';
import type { Options } from './options.ts';
import { type StorageKey, forget, load, save } from './storage.ts';

const KEY: StorageKey = 'sharpsend:queue';
/** Ids in a request not answered yet: a second flush must not send them again meanwhile. */
const inFlight = new Set<string>();
let options: Pick<Options, 'endpoint' | 'workspace'>;
let timer = 0;

export function configure(opts: typeof options): void {
  options = opts;
}

type WireEvent = ReaderEventInput | GrantEventInput;
const body = (events: WireEvent[]) => JSON.stringify({ workspace: options.workspace, events });

/** A batch, or a click grant's redemption (a batch of one `grant` event, shared/protocol.ts). */
export function post(events: WireEvent[]): Promise<Response | null> {
  // A string body goes as text/plain;charset=UTF-8, a "simple" request: no CORS preflight.
  return fetch(options.endpoint, { method: 'POST', body: body(events), keepalive: true }).catch(() => null);
}

/** 5xx, rate limits, timeouts and network failures are worth another try; other 4xx are not. */
export const retryable = (status?: number): boolean => !status || status > 499 || status == 429 || status == 408;

export function enqueue(events: ReaderEventInput[], hiding?: boolean): void {
  save(KEY, addToQueue(load<ReaderEventInput[]>(KEY, []), events, MAX_EVENTS_PER_BATCH));
  if (hiding) flush(true);
  else timer ||= setTimeout(flush, 500) as unknown as number;
}

export function clear(): void {
  forget(KEY);
}

function done(ids: string[]): void {
  save(KEY, removeFromQueue(load<ReaderEventInput[]>(KEY, []), ids));
}

/**
 * `hiding`: the page may be gone in a moment, so use a beacon and do not wait for an answer.
 * Returns the request's settling when one was made (the picker then reads the outbox to tell
 * "saved" from "kept for later").
 */
export function flush(hiding?: boolean): Promise<void> | void {
  timer = 0;
  if (!navigator.onLine) return; // a beacon "succeeds" offline and the events would be lost
  const batch = notInFlight(load<ReaderEventInput[]>(KEY, []), inFlight);
  if (batch.length) {
    const ids = batch.map((e) => e.id);
    // A string beacon is text/plain too; it returns false when the browser will not queue it.
    if (hiding && navigator.sendBeacon(options.endpoint, body(batch))) return done(ids);
    ids.forEach((id) => inFlight.add(id));
    return post(batch).then((res) => {
      ids.forEach((id) => inFlight.delete(id));
      const status = res?.status; // undefined: no answer at all
      if (retryable(status)) return;
      done(ids);
      if (status! > 299) res!.text().then((t) => console.warn('SharpSend:', status, t));
    });
  }
}
