/**
 * Per-isolate caches of values read from a workspace's object (its settings, keys, Customer.io
 * gateway), so the hot paths do not wait on that object.
 *
 * They hold VALUES, never promises: in workerd a request that awaits a promise another request
 * started fails ("Promise will never complete") or hangs, so each request awaits its own load;
 * two requests that miss at once both load, which is cheap and correct.
 *
 * When an entry expires, the first request to see it loads afresh (awaiting its own load) and the
 * requests that come while that load is under way keep the old value, for at most one more TTL:
 * a busy route never has every request in flight wait on the object at once when the TTL ends.
 *
 * Every workspace cache registers here, so one `forgetWorkspace(id)` after a PUT/PATCH or a key
 * change reaches all of them in this isolate at once; other isolates see the change when their
 * entries expire (seconds, see each cache's TTL).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number; ttl: number; refreshing: boolean }>();

  /** `ttlMs` may depend on the value (a missing workspace is remembered for less time). */
  constructor(private readonly ttlMs: number | ((value: V) => number), private readonly maxEntries = 10_000) {
    workspaceCaches.add(this as TtlCache<unknown>);
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    // Expired, and another request is loading it afresh: the old value, a little longer.
    if (hit?.refreshing && hit.expires + hit.ttl > now) return hit.value;
    if (hit) hit.refreshing = true;
    let value: V;
    try {
      value = await load();
    } catch (error) {
      if (hit) hit.refreshing = false;
      throw error;
    }
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const ttl = typeof this.ttlMs === 'function' ? this.ttlMs(value) : this.ttlMs;
    this.entries.set(key, { value, expires: Date.now() + ttl, ttl, refreshing: false });
    return value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}

const workspaceCaches = new Set<TtlCache<unknown>>();

/** A workspace changed: every cache of this isolate reads it afresh on its next use. */
export function forgetWorkspace(id: string): void {
  for (const cache of workspaceCaches) cache.forget(id);
}
