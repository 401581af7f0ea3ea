/**
 * A Map that holds at most `max` entries, the oldest going first: the per-isolate memos of values
 * (tokens opened or signed, user-agent verdicts) stay bounded however many readers pass through.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.delete(this.keys().next().value!);
    return super.set(key, value);
  }
}
