import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TtlCache, forgetWorkspace } from './ttl-cache.ts';

/** A load the test finishes by hand. */
function pending<V>() {
  let resolve!: (v: V) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<V>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('TtlCache', () => {
  beforeEach(() => { vi.useFakeTimers(); vi.setSystemTime(1_000_000); });
  afterEach(() => vi.useRealTimers());

  it('serves a value within its TTL without loading', async () => {
    const cache = new TtlCache<string>(10_000);
    const load = vi.fn(async () => 'v1');
    expect(await cache.get('w', load)).toBe('v1');
    vi.setSystemTime(1_009_999);
    expect(await cache.get('w', load)).toBe('v1');
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('after the TTL one request loads while the others keep the old value, then all see the new one', async () => {
    const cache = new TtlCache<string>(10_000);
    await cache.get('w', async () => 'v1');
    vi.setSystemTime(1_010_001);
    const fresh = pending<string>();
    const first = cache.get('w', () => fresh.promise);
    const others = vi.fn(async () => 'never');
    expect(await cache.get('w', others)).toBe('v1');
    expect(await cache.get('w', others)).toBe('v1');
    expect(others).not.toHaveBeenCalled();
    fresh.resolve('v2');
    expect(await first).toBe('v2');
    expect(await cache.get('w', others)).toBe('v2');
  });

  it('a failed refresh lets the next request load again', async () => {
    const cache = new TtlCache<string>(10_000);
    await cache.get('w', async () => 'v1');
    vi.setSystemTime(1_010_001);
    await expect(cache.get('w', async () => { throw new Error('object unreachable'); })).rejects.toThrow('object unreachable');
    expect(await cache.get('w', async () => 'v2')).toBe('v2');
  });

  it('keeps an old value at most one TTL past its expiry, even while a refresh hangs', async () => {
    const cache = new TtlCache<string>(10_000);
    await cache.get('w', async () => 'v1');
    vi.setSystemTime(1_010_001);
    void cache.get('w', () => new Promise<string>(() => {}));
    vi.setSystemTime(1_020_001);
    expect(await cache.get('w', async () => 'v3')).toBe('v3');
  });

  it('forgetWorkspace drops the value at once: the next request loads', async () => {
    const cache = new TtlCache<string>(10_000);
    await cache.get('w', async () => 'v1');
    forgetWorkspace('w');
    expect(await cache.get('w', async () => 'v2')).toBe('v2');
  });
});
