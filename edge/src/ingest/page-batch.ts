/**
 * The widget's common batch, page reads only, checked without zod.
 *
 * Inside workerd zod runs without its compiled checks (they need `new Function`, which Workers
 * refuse), and checking a batch of ten reads that way was about a tenth of a returning reader's
 * request (measured in workerd, readers in memory: taking it out moved the edge from 0.75-0.8× its
 * floor to 0.87×). So the route tries this first. It accepts a batch only when every event is a
 * page read that `eventBatchSchema` accepts, and gives what zod would give (unknown fields
 * dropped, a field given as `undefined` kept so). Anything else, or anything it is unsure of
 * (another event type, a URL with spaces, a string whose length needs counting in code points),
 * returns null: zod then parses, and names the bad field. A property test holds the two together
 * (page-batch.test.ts): whatever this accepts, zod accepts with the same output.
 */
import { CLIENT_ID_PATTERN, type EventBatch, LIMITS, type PageEvent, SLUG_PATTERN } from '#shared/protocol.ts';
import { MAX_EVENTS_PER_BATCH } from '#shared/constants.ts';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const clientId = (x: unknown): boolean =>
  typeof x === 'string' && x.length >= LIMITS.clientId.min && x.length <= LIMITS.clientId.max && CLIENT_ID_PATTERN.test(x);

const slug = (x: unknown, max: number): boolean => typeof x === 'string' && x.length >= 1 && x.length <= max && SLUG_PATTERN.test(x);

/** An integer zod's `z.int()` takes (safe), within [min, max]. */
const int = (x: unknown, min: number, max: number): x is number => Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max;

/**
 * An http(s) URL zod takes as it is: no whitespace (zod trims it and drops tabs and newlines, so
 * its output would differ) and a lowercase scheme (which makes the protocol check a given).
 */
const plainUrl = (x: unknown): x is string =>
  typeof x === 'string' && x.length <= LIMITS.url && (x.startsWith('https://') || x.startsWith('http://')) && !/\s/.test(x) && URL.canParse(x);

/** An optional field: absent, given as undefined, or good. */
const optional = (event: Record<string, unknown>, key: string, good: (x: unknown) => boolean): boolean =>
  !(key in event) || event[key] === undefined || good(event[key]);

function pageEvent(x: unknown): PageEvent | null {
  if (!isObject(x) || x.type !== 'page') return null;
  const { id, anonymousId, ts, url, engagedMs, scrollDepth } = x;
  if (!clientId(id) || !clientId(anonymousId) || !int(ts, 1, Number.MAX_SAFE_INTEGER) || !plainUrl(url)) return null;
  if (!int(engagedMs, 0, LIMITS.engagedMs) || typeof scrollDepth !== 'number' || !(scrollDepth >= 0 && scrollDepth <= 1)) return null;
  if (!optional(x, 'category', (c) => slug(c, LIMITS.topic)) || !optional(x, 'title', (t) => typeof t === 'string' && t.length <= LIMITS.title)) return null;
  const event = { id, anonymousId, ts, type: 'page', url } as PageEvent;
  if ('category' in x) event.category = x.category as string | undefined;
  event.engagedMs = engagedMs;
  event.scrollDepth = scrollDepth;
  if ('title' in x) event.title = x.title as string | undefined;
  return event;
}

/** The batch as `eventBatchSchema` parses it, when it is page reads that surely pass; else null (ask zod). */
export function plainPageBatch(raw: unknown): EventBatch | null {
  if (!isObject(raw) || !slug(raw.workspace, LIMITS.workspaceId) || !Array.isArray(raw.events)) return null;
  const input = raw.events as unknown[];
  if (input.length < 1 || input.length > MAX_EVENTS_PER_BATCH) return null;
  const events: PageEvent[] = [];
  for (const x of input) {
    const event = pageEvent(x);
    if (!event) return null;
    events.push(event);
  }
  return { workspace: raw.workspace as string, events };
}
