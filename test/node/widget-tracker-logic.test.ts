/** The tracker's pure logic: ids, the bounded outbox, engaged time, options, consent, slugs. */
import { describe, expect, it } from 'vitest';
import { makeId } from '../../widget/src/embed/ids.ts';
import { addToQueue, notInFlight, removeFromQueue } from '../../widget/src/embed/queue.ts';
import { engagedClock } from '../../widget/src/embed/engaged.ts';
import { mayTrack, readOptions, slug } from '../../widget/src/embed/options.ts';
import { retryable } from '../../widget/src/embed/send.ts';

const PROTOCOL_ID = /^[A-Za-z0-9_-]{8,64}$/;

describe('makeId', () => {
  it('makes protocol-valid ids that do not repeat', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => makeId()));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(PROTOCOL_ID);
  });

  it('draws from the random source it is given', () => {
    expect(makeId((b) => b.fill(0))).toBe('0'.repeat(22));
    expect(makeId((b) => b.fill(35))).toBe('z'.repeat(22));
  });
});

describe('the outbox queue', () => {
  const ev = (id: string) => ({ id });

  it('keeps only the newest events past its bound', () => {
    let q = [ev('a'), ev('b')];
    q = addToQueue(q, [ev('c'), ev('d')], 3);
    expect(q.map((e) => e.id)).toEqual(['b', 'c', 'd']);
  });

  it('removes delivered events by id and leaves the rest in order', () => {
    const q = [ev('a'), ev('b'), ev('c')];
    expect(removeFromQueue(q, [ev('b')]).map((e) => e.id)).toEqual(['a', 'c']);
    expect(removeFromQueue(q, [ev('x')])).toHaveLength(3);
  });

  it('never offers an event already in a request', () => {
    const q = [ev('a'), ev('b'), ev('c')];
    expect(notInFlight(q, new Set(['a', 'c'])).map((e) => e.id)).toEqual(['b']);
  });
});

describe('engaged time', () => {
  it('counts only visible time', () => {
    const lap = engagedClock(true, 0);
    expect(lap(false, 4000)).toBe(4000); // hidden after 4 s
    expect(lap(true, 10_000)).toBe(0); // back after 6 s away: that lap was hidden
    expect(lap(true, 12_500)).toBe(2500);
  });

  it('starts paused for a page opened in a background tab', () => {
    const lap = engagedClock(false, 0);
    expect(lap(false, 5000)).toBe(0);
    expect(lap(true, 5000)).toBe(0);
    expect(lap(true, 7000)).toBe(2000);
  });

  it('answers each lap apart, so a continuation reports only the new time', () => {
    const lap = engagedClock(true, 0);
    expect(lap(false, 3000)).toBe(3000);
    expect(lap(true, 9000)).toBe(0);
    expect(lap(false, 10_500)).toBe(1500);
    expect(lap(false, 20_000)).toBe(0);
  });

  it('counts nothing for repeated hidden signals, and rounds to whole milliseconds', () => {
    const lap = engagedClock(true, 0.4);
    expect(lap(false, 2000.6)).toBe(2000);
    expect(lap(false, 5000)).toBe(0);
    expect(lap(false, 6000)).toBe(0);
  });
});

describe('script tag options', () => {
  it('defaults the endpoint to the origin the script came from', () => {
    expect(readOptions({ workspace: 'demo' }, 'https://edge.example.com/sharpsend.js')).toEqual({
      workspace: 'demo',
      endpoint: 'https://edge.example.com/v1/events',
      consent: 'auto',
      category: undefined,
    });
  });

  it('takes endpoint, consent mode and a category slug from data attributes', () => {
    const o = readOptions({ workspace: 'w', endpoint: 'https://x.test/e', consent: 'required', category: ' Crypto News ' }, 'https://a.test/s.js');
    expect(o).toMatchObject({ endpoint: 'https://x.test/e', consent: 'required', category: 'crypto-news' });
  });
});

describe('consent', () => {
  it('auto: tracks unless Do Not Track or Global Privacy Control', () => {
    expect(mayTrack('auto', null, false, false)).toBe(true);
    expect(mayTrack('auto', null, true, false)).toBe(false);
    expect(mayTrack('auto', null, false, true)).toBe(false);
  });

  it('required: waits for an explicit yes', () => {
    expect(mayTrack('required', null, false, false)).toBe(false);
    expect(mayTrack('required', '1', false, false)).toBe(true);
  });

  it('granted: the publisher holds the opt-in, so GPC does not stop it', () => {
    expect(mayTrack('granted', null, true, true)).toBe(true);
  });

  it("the reader's own answer wins over every mode", () => {
    expect(mayTrack('granted', '0', false, false)).toBe(false);
    expect(mayTrack('auto', '1', true, true)).toBe(true);
  });
});

describe('slug', () => {
  it('normalises what a CMS writes into a protocol topic, or drops it', () => {
    expect(slug('Crypto')).toBe('crypto');
    expect(slug('real estate')).toBe('real-estate');
    expect(slug('')).toBeUndefined();
    expect(slug(null)).toBeUndefined();
    expect(slug('<script>')).toBeUndefined();
    expect(slug('x'.repeat(33))).toBeUndefined();
  });
});

describe('retry rules', () => {
  it('retries network failures, 5xx, 429 and 408, not other refusals', () => {
    expect([0, 500, 503, 429, 408].every(retryable)).toBe(true);
    expect([400, 403, 404, 413].some(retryable)).toBe(false);
  });
});
