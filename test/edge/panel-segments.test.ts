import { describe, expect, it } from 'vitest';
import { eventually, fake, resetFake } from './helpers.ts';
import { panelApi, panelWorkspace, seedEngagedReaders, tagRule } from './panel-helpers.ts';

const premium = { tier: 'premium', lifetime_value: 800 };

describe('panel segments', () => {
  it('builds a segment from two tags and a score threshold, adds a reader by email, and mirrors exactly those people into a Customer.io manual segment', async () => {
    await resetFake();
    const s = await panelWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'seg-a@example.com', reads: 3, traits: premium },
      { email: 'seg-b@example.com', userId: 'seg-user-b', reads: 3, traits: { tier: 'pro', lifetime_value: 900 } },
      { email: 'seg-c@example.com', reads: 0, traits: premium }, // both tags, no engagement
      { email: 'seg-d@example.com', reads: 3, traits: { tier: 'basic', lifetime_value: 800 } }, // one tag only
      { email: 'seg-e@example.com', reads: 0, traits: { tier: 'basic' } }, // added by hand
    ]);
    const rule = { all: [tagRule('premium_subscriber'), tagRule('high_value'), { fact: 'score', op: 'gte', value: 0.2 }] };

    const preview = await panelApi(s, 'POST', `${w}/segments/preview`, { rule });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ count: 2, total: 5 });

    const created = await panelApi(s, 'POST', `${w}/segments`, { name: 'Engaged premium', rule });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Engaged premium', count: 2, ruleText: 'tag premium_subscriber and tag high_value and score ≥ 0.2' });
    const id = created.body.id as string;

    const added = await panelApi(s, 'POST', `${w}/segments/${id}/members`, { emails: ['seg-e@example.com', 'nobody@example.com'] });
    expect(added.body).toMatchObject({ changed: ['e:seg-e@example.com'], unknown: ['nobody@example.com'] });
    expect((await panelApi(s, 'GET', `${w}/segments/${id}`)).body.segment).toMatchObject({ count: 3, manualAdds: 1 });

    const expected = ['seg-a@example.com', 'seg-b@example.com', 'seg-e@example.com'];
    const mirrored = await eventually(async () => {
      const { segments } = await fake<{ segments: Array<{ name: string; type: string; members: Array<{ email: string; id: string | null }> }> }>('/segments?workspace=demo');
      const seg = segments.find((x) => x.name === 'SharpSend: Engaged premium');
      return seg && seg.members.length === 3 ? seg : undefined;
    }, 20_000, 'the mirrored segment');
    expect(mirrored.type).toBe('manual');
    expect(mirrored.members.map((m) => m.email).sort()).toEqual(expected);
    // The reader the backend named by id was added by id, the others by email.
    const calls = (await fake<{ requests: Array<{ path: string; query: Record<string, string> | string; body: { ids: string[] } }> }>('/requests?workspace=demo&path_prefix=/api/v1/segments')).requests;
    expect(calls.some((r) => r.body.ids.includes('seg-user-b'))).toBe(true);

    // Removing by hand takes the person out in Customer.io too.
    await panelApi(s, 'POST', `${w}/segments/${id}/members/remove`, { emails: ['seg-a@example.com'] });
    await eventually(async () => {
      const { segments } = await fake<{ segments: Array<{ name: string; members: Array<{ email: string }> }> }>('/segments?workspace=demo');
      const emails = segments.find((x) => x.name === 'SharpSend: Engaged premium')!.members.map((m) => m.email).sort();
      return JSON.stringify(emails) === JSON.stringify(['seg-b@example.com', 'seg-e@example.com']);
    }, 20_000, 'the removal in Customer.io');
    const listed = (await panelApi(s, 'GET', `${w}/segments`)).body.segments[0];
    expect(listed).toMatchObject({ count: 2, mirrored: 2, pending: 0, syncError: null });
  });

  it('adds every reader carrying given tags, shows a reader with its segments, and counts tags', async () => {
    await resetFake();
    const s = await panelWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'tags-a@example.com', reads: 1, traits: premium },
      { email: 'tags-b@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'tags-c@example.com', reads: 1, traits: { tier: 'basic' } },
    ]);
    const created = await panelApi(s, 'POST', `${w}/segments`, { name: 'Hand-picked', rule: null });
    const id = created.body.id as string;
    expect(created.body.count).toBe(0);
    const added = await panelApi(s, 'POST', `${w}/segments/${id}/members`, { tags: ['premium_subscriber'] });
    expect(added.body.changed.sort()).toEqual(['e:tags-a@example.com', 'e:tags-b@example.com']);

    const reader = await panelApi(s, 'GET', `${w}/readers/${encodeURIComponent('e:tags-a@example.com')}`);
    expect(reader.status).toBe(200);
    expect(reader.body.reader.tags).toEqual(expect.arrayContaining(['premium_subscriber', 'high_value']));
    expect(reader.body.segments).toEqual([{ id, name: 'Hand-picked' }]);
    expect(reader.body.live.counters.reads).toBe(1);

    const search = await panelApi(s, 'GET', `${w}/readers?q=tags-c`);
    expect(search.body.readers.map((r: { email: string }) => r.email)).toEqual(['tags-c@example.com']);

    const overview = await panelApi(s, 'GET', `${w}/overview`);
    expect(overview.body.readers).toBe(3);
    expect(overview.body.tagCounts).toMatchObject({ premium_subscriber: 2, high_value: 1 });
    expect(overview.body.tagHistory.tags.premium_subscriber.at(-1)).toBe(2);
    expect(overview.body.activeByDay.at(-1).readers).toBe(3);

    // A bad rule is a 400 naming the field.
    const bad = await panelApi(s, 'POST', `${w}/segments`, { name: 'Bad', rule: { fact: 'score', op: 'gte' } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toMatch(/^rule/);
  });

  it("lists Customer.io's own segments with their counts", async () => {
    await resetFake();
    await fake('/segments', { body: { workspace: 'demo', name: 'Big spenders', type: 'dynamic' } });
    const s = await panelWorkspace();
    const { body } = await panelApi(s, 'GET', `/workspaces/${s.workspace}/cio-segments`);
    expect(body.error).toBeNull();
    expect(body.segments).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Big spenders', count: 0, ours: false })]));
  });
});
