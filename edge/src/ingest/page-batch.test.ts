// The zod-free check of page batches must never take what zod refuses, nor give other output:
// generated batches, good ones and ones with a field made odd, go through both.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { config } from 'zod/mini';
import { CLIENT_ID_PATTERN, type EventBatch, LIMITS, SLUG_PATTERN, eventBatchSchema } from '#shared/protocol.ts';
import { MAX_EVENTS_PER_BATCH } from '#shared/constants.ts';
import { plainPageBatch } from './page-batch.ts';

// As in workerd, where zod cannot compile its checks.
config({ jitless: true });

const clientId = fc.stringMatching(new RegExp(`^${CLIENT_ID_PATTERN.source.slice(1, -2)}{${LIMITS.clientId.min},${LIMITS.clientId.max}}$`));
const slug = fc.stringMatching(SLUG_PATTERN).filter((s) => s.length <= LIMITS.topic);

const goodPage = fc.record({
  id: clientId,
  anonymousId: clientId,
  ts: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  type: fc.constant('page'),
  url: fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }).filter((u) => u.length <= LIMITS.url),
  category: slug,
  engagedMs: fc.integer({ min: 0, max: LIMITS.engagedMs }),
  scrollDepth: fc.double({ min: 0, max: 1, noNaN: true }),
  title: fc.string({ maxLength: LIMITS.title }),
}, { requiredKeys: ['id', 'anonymousId', 'ts', 'type', 'url', 'engagedMs', 'scrollDepth'] });

/** Values at and past the edges of what each field takes. */
const odd = fc.oneof(
  fc.constantFrom(
    undefined, null, '', ' ', true, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, LIMITS.engagedMs + 1, 1.0000001,
    'page', 'preferences', 'crypto', 'CRYPTO', 'a b', 'x'.repeat(7), 'x'.repeat(65), 'é'.repeat(10), '😀'.repeat(200), 'a'.repeat(301),
    'https://a.example/', ' https://a.example/', 'https://a.example/ x', 'https://a.example/\tx', 'HTTPS://A.EXAMPLE/',
    'http:example.com', 'https:/a.example', 'https://', 'ftp://a.example/', 'javascript:alert(1)', 'https://a.example/\u00a0',
    `https://a.example/${'x'.repeat(LIMITS.url)}`, [], {},
  ),
  fc.anything(),
);

const field = fc.constantFrom('id', 'anonymousId', 'ts', 'type', 'url', 'category', 'engagedMs', 'scrollDepth', 'title', 'extra');

/** A good page event with up to three fields set to odd values or left out. */
const oddPage = fc.tuple(goodPage, fc.array(fc.tuple(field, fc.option(odd, { nil: undefined }), fc.boolean()), { maxLength: 3 }))
  .map(([event, changes]) => {
    const out: Record<string, unknown> = { ...event };
    for (const [key, value, remove] of changes) {
      if (remove) delete out[key];
      else out[key] = value;
    }
    return out;
  });

/** Good page reads with one odd event among them (or none), under a workspace that may be odd too. */
const batch = fc.record({
  workspace: fc.oneof({ weight: 4, arbitrary: slug }, { weight: 1, arbitrary: odd }),
  events: fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.array(goodPage, { maxLength: 4 }), fc.option(oddPage, { nil: undefined }), fc.nat())
      .map(([good, oddOne, at]) => (oddOne === undefined ? good : [...good.slice(0, at % (good.length + 1)), oddOne, ...good.slice(at % (good.length + 1))])) },
    { weight: 1, arbitrary: fc.array(goodPage, { minLength: MAX_EVENTS_PER_BATCH - 1, maxLength: MAX_EVENTS_PER_BATCH + 2 }) },
    { weight: 1, arbitrary: odd },
  ),
});

describe('plainPageBatch', () => {
  it('takes only what eventBatchSchema takes, and gives what it gives', () => {
    let taken = 0;
    fc.assert(fc.property(fc.oneof({ weight: 9, arbitrary: batch }, { weight: 1, arbitrary: odd }), (input) => {
      const fast = plainPageBatch(input);
      if (fast === null) return;
      taken++;
      const parsed = eventBatchSchema.safeParse(input);
      expect(parsed.success).toBe(true);
      expect(fast).toStrictEqual(parsed.data);
    }), { numRuns: 3000 });
    // Not a property that holds by taking nothing.
    expect(taken).toBeGreaterThan(500);
  });

  it('takes every good batch of page reads itself (the route then never needs zod for one)', () => {
    fc.assert(fc.property(fc.array(goodPage, { minLength: 1, maxLength: MAX_EVENTS_PER_BATCH }), slug, (events, workspace) => {
      const batch = { workspace, events: events.map((e) => ({ ...e, unknownField: 1 })) };
      const fast = plainPageBatch(batch);
      expect(fast).not.toBeNull();
      expect(fast).toStrictEqual(eventBatchSchema.parse(batch));
    }), { numRuns: 500 });
  });

  it('leaves to zod what it cannot be sure of, which zod may take or refuse', () => {
    const page = { id: 'evt-12345', anonymousId: 'anon-12345', ts: 1_700_000_000_000, type: 'page', url: 'https://a.example/x', engagedMs: 1000, scrollDepth: 0.5 };
    const cases: Array<[Record<string, unknown>, boolean]> = [
      [{ ...page, title: '😀'.repeat(200) }, true], // 400 UTF-16 units, 200 characters: zod counts
      [{ ...page, url: ' https://a.example/x ' }, true], // zod trims it
      [{ ...page, url: 'HTTPS://A.EXAMPLE/' }, true],
      [{ ...page, url: 'https://a.example/ x' }, true],
      [{ ...page, scrollDepth: 1.5 }, false],
      [{ id: 'evt-12345', anonymousId: 'anon-12345', ts: 1, type: 'preferences', topics: ['crypto'] }, true],
    ];
    for (const [event, zodTakes] of cases) {
      const batch = { workspace: 'demo', events: [page, event] };
      expect(plainPageBatch(batch)).toBeNull();
      expect(eventBatchSchema.safeParse(batch).success).toBe(zodTakes);
    }
    const good: EventBatch | null = plainPageBatch({ workspace: 'demo', events: [page] });
    expect(good?.events[0]).toStrictEqual(page);
  });
});
