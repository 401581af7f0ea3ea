// Customer.io's limits as the fake enforces them (300 attributes per identify): a reader with more
// than that reaches Customer.io with a bounded set instead of being refused on every sync, and the
// admin sync stats say what was left out.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventually, fake, resetFake, serverApi } from './helpers.ts';

describe('Customer.io attribute limit', () => {
  it('syncs a reader with 400 traits as a person under 300 attributes, nothing dead-lettered, and reports the omission', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const traits = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`plan_field_${String(i).padStart(3, '0')}`, i]));
    // Traits add up across calls (one call takes at most 200, email included).
    const entries = Object.entries(traits);
    for (const part of [entries.slice(0, 199), entries.slice(199, 398), entries.slice(398)]) {
      const res = await serverApi(ws.secretKey, '/identify', { body: { userId: 'wide-1', traits: { email: 'wide@example.com', ...Object.fromEntries(part) } } });
      expect(res.status).toBe(200);
    }
    const syncStats = async () => (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}/sync`, { headers: ADMIN })).json()) as any;
    // Synced once every call has landed: the stats then count all 400 traits, 300 of them left out.
    const stats = await eventually(async () => {
      const s = await syncStats();
      return s.pending === 0 && s.attributesOmitted.examples[0]?.traits === 300 ? s : null;
    }, 30_000, 'the last identify synced');
    expect(stats.deadLetters).toBe(0);
    expect(stats.attributesOmitted.readers).toBe(1);
    expect(stats.attributesOmitted.examples[0]).toMatchObject({ key: 'e:wide@example.com', categories: 0, tagFlags: 0, traits: 300 });
    const person = await fake(`/people/demo/wide-1`);
    expect(Object.keys(person.attributes).length).toBeLessThanOrEqual(300);
    // The first 100 traits by name go; the rest are left out rather than refusing the person.
    expect(person.attributes.plan_field_000).toBe(0);
    expect(person.attributes.plan_field_099).toBe(99);
    expect(person.attributes.plan_field_100).toBeUndefined();
  });
});
