/**
 * Per-isolate caches of values read from a workspace's object (its settings, keys, Customer.io
 * gateway), so the hot paths do not wait on that object.
 *
 * They hold VALUES, never promises: in workerd a request that awaits a promise another request
 * started fails ("Promise will never complete") or hangs, so each request awaits its own load;
 * two requests that miss at once both load, which is cheap and correct.
 *
 * Every workspace cache registers here, so one `forgetWorkspace(id)` after a PUT/PATCH or a key
 * change reaches all of them in this isolate at once; other isolates see the change when their
 * entries expire (seconds, see each cache's TTL).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();

  /** `ttlMs` may depend on the value (a missing workspace is remembered for less time). */
  constructor(private readonly ttlMs: number | ((value: V) => number), private readonly maxEntries = 10_000) {
    workspaceCaches.add(this as TtlCache<unknown>);
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    const value = await load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const ttl = typeof this.ttlMs === 'function' ? this.ttlMs(value) : this.ttlMs;
    this.entries.set(key, { value, expires: Date.now() + ttl });
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
