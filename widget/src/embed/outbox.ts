/**
 * Sending events: every event is first written to the stored outbox, then sent; it leaves the
 * outbox only once the edge took it (2xx) or refused it for good (4xx). A failed send stays for
 * the next flush (next page, coming back online). Event ids make a replay harmless: the edge
 * counts an id once. The outbox holds at most one batch (the edge's per-request limit), so
 * everything waiting goes in one request.
 *
 * The common path, a read sent when the page is hidden, is a beacon from here. Anything sent by
 * fetch (it needs the answer) goes through the network chunk, sharpsend-net.js (send.ts), fetched
 * the first time it is needed: a page that is read and left never loads it.
 */
import type { ReaderEventInput } from '#shared/protocol.ts';
import { MAX_EVENTS_PER_BATCH } from '#shared/constants.ts';
import { addToQueue, notInFlight, removeFromQueue } from './queue.ts';
import { chunk, options } from './script.ts';
import type { Post, WireEvent } from './send.ts';
import { type StorageKey, forget, load, save } from './storage.ts';

const KEY: StorageKey = 'sharpsend:queue';
/**
 * Ids in a request not answered yet, kept by the network chunk as it sends (once it is here, in the
 * same task as the flush): no flush sends them again meanwhile. While the chunk is first being
 * fetched nothing is marked yet, so a beacon in that moment may carry an event the chunk then
 * sends too; the edge counts an id once.
 */
const inFlight = new Set<string>();
let net: Promise<Post> | 0 = 0;
let timer = 0;

/**
 * A request that needs the edge's answer (see `Post`), once the network chunk is here. A chunk
 * that cannot be fetched is the edge being unreachable (null, like a failed fetch) and is asked
 * for again next time.
 */
export const post = <E extends WireEvent>(events: E[], settle?: (sent: E[]) => void) =>
  (net ||= new Promise((resolve) => {
    const s = chunk('sharpsend-net.js') as HTMLScriptElement & { z: typeof resolve };
    s.z = resolve;
    s.onerror = () => resolve((net = 0, () => null));
  })).then((send) => send(options, events, settle, inFlight));

export function enqueue(events: ReaderEventInput[], hiding?: boolean): void {
  save(KEY, addToQueue(load<ReaderEventInput[]>(KEY, []), events, MAX_EVENTS_PER_BATCH));
  if (hiding) flush(true);
  else timer ||= setTimeout(flush, 500) as unknown as number;
}

export function clear(): void {
  forget(KEY);
}

function done(sent: ReaderEventInput[]): void {
  save(KEY, removeFromQueue(load<ReaderEventInput[]>(KEY, []), sent));
}

/**
 * `hiding`: the page may be gone in a moment, so use a beacon and do not wait for an answer.
 * Returns the request's settling when one was made (the picker then reads the outbox to tell
 * "saved" from "kept for later").
 */
export function flush(hiding?: boolean): Promise<unknown> | void {
  timer = 0;
  if (!navigator.onLine) return; // a beacon "succeeds" offline and the events would be lost
  const batch = notInFlight(load<ReaderEventInput[]>(KEY, []), inFlight);
  if (batch.length) {
    // A string beacon is text/plain too; it returns false when the browser will not queue it.
    if (hiding && navigator.sendBeacon(options.endpoint, JSON.stringify({ workspace: options.workspace, events: batch }))) return done(batch);
    return post(batch, done);
  }
}
