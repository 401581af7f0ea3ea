// Sends at a newsletter's size: segments of more than 10,000 readers (Customer.io's per-trigger
// cap, which the fake enforces), overlapping segments (one email per reader, the first variation
// wins), a restart in the middle of a chunked send, and the segment mirror as the audience when it
// is in sync. Readers are seeded straight into the directory through its upsertReaders RPC in
// batches of 500, as the directory's own scale tests do; the directory's clock runs an hour ahead
// so its alarms (the mirror) run only when a test steps them.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ReaderSummary } from '#shared/panel.ts';
import type { SendPreview, SendView } from '#shared/panel-api.ts';
import type { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
import { SendQueue } from '#edge/panel/sends/send-queue.ts';
import { directoryStub } from '#edge/platform/stubs.ts';
import { createWorkspace, fake } from './helpers.ts';
import { EDITOR_KEY, type PanelSession, panelApi, seedEngagedReaders, signIn, tagRule } from './panel-helpers.ts';
import { AHEAD_MS, manualSendQueue } from './send-queue-clock.ts';

interface Trigger { id: number; broadcast_id: number; recipients: string[]; data: Record<string, unknown>; body: Record<string, unknown> }

const BATCH = 500;

async function workspace(): Promise<PanelSession & { queue: Awaited<ReturnType<typeof manualSendQueue>>; directory: ReturnType<typeof directoryStub> }> {
  await fake('/reset', { body: { broadcastIntervalMs: 300, clockOffsetMs: AHEAD_MS } });
  const ws = await createWorkspace({ editorKey: EDITOR_KEY, limits: { broadcastIntervalMs: 1000 } as never });
  const directory = directoryStub(env, ws.id);
  await runInDurableObject(directory, (o: ReaderDirectory) => { o.clock = { now: () => Date.now() + AHEAD_MS }; });
  const queue = await manualSendQueue(ws.id);
  return { ...(await signIn(ws.id)), secretKey: ws.secretKey, queue, directory };
}

const reader = (i: number, tags: string[]): ReaderSummary => ({
  key: `e:big-${i}@example.com`, email: `big-${i}@example.com`, userId: null, tags, score: 0.5, counters: {}, traits: {},
  facts: {} as ReaderSummary['facts'], activeDays: [], lastSeen: null, signedUpAt: null, updatedAt: 0,
});

async function triggers(): Promise<Trigger[]> {
  return (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
}

async function sends(s: PanelSession): Promise<Map<string, SendView>> {
  const list: SendView[] = (await panelApi(s, 'GET', `/workspaces/${s.workspace}/sends`)).body.sends;
  return new Map(list.map((x) => [x.variation.id, x]));
}

const variation = (id: string, segmentId: string, subject: string) => ({ id, segmentId, subject, preheader: '', blocks: [], cta: null });

describe('sending to any audience size', () => {
  it('reaches 22,000 readers of two overlapping segments once each, in chunks of at most 10,000, across a restart', async () => {
    const s = await workspace();
    const w = `/workspaces/${s.workspace}`;
    const alpha = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Alpha', rule: tagRule('alpha') })).body.id;
    const beta = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Beta', rule: tagRule('beta') })).body.id;
    // Alpha: readers 0-14,999. Beta: 9,000-21,999. Both: 9,000-14,999 (6,000 readers).
    const readers = Array.from({ length: 22_000 }, (_, i) => reader(i, [...(i < 15_000 ? ['alpha'] : []), ...(i >= 9_000 ? ['beta'] : [])]));
    for (let i = 0; i < readers.length; i += BATCH) await s.directory.upsertReaders(s.workspace, readers.slice(i, i + BATCH));

    // A segment made now is counted over the 22,000 readers in chunks: until then it cannot be sent.
    const late = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Late', rule: tagRule('alpha') })).body;
    expect(late.evaluating).not.toBeNull();
    const early = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-late-00001', broadcastId: 1, variations: [variation('v1', late.id, 'Too early')] });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatch(/"Late" is still being counted \(\d+ of 22000 readers/);

    const variations = [variation('v1', alpha, 'For alpha'), variation('v2', beta, 'For beta')];
    const preview = await panelApi<SendPreview>(s, 'POST', `${w}/sends/preview`, { variations });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ total: 22_000, via: 'chunks', triggers: 3 });
    expect(preview.body.variations.map((v) => [v.segmentName, v.readers])).toEqual([['Alpha', 15_000], ['Beta', 7_000]]);
    // The same segments the other way round: the first variation wins again.
    const reversed = await panelApi<SendPreview>(s, 'POST', `${w}/sends/preview`, { variations: [variations[1], variations[0]] });
    expect(reversed.body.variations.map((v) => v.readers)).toEqual([13_000, 9_000]);

    const queued = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-big-000001', broadcastId: 1, variations });
    expect(queued.status).toBe(202);
    expect(queued.body.sends.map((x: SendView) => [x.recipients, x.building])).toEqual([[15_000, true], [7_000, true]]);

    // Alarm 1 reads both audiences in pages and triggers v1's first chunk; the rest waits the broadcast interval.
    expect(await s.queue.runAlarm()).toBe(true);
    let now = await sends(s);
    expect(now.get('v1')).toMatchObject({ status: 'queued', building: false, recipients: 15_000, chunks: 2, chunksSent: 1, recipientsSent: 10_000 });
    expect(now.get('v2')).toMatchObject({ status: 'queued', building: false, recipients: 7_000, chunks: 1, chunksSent: 0 });
    expect(await triggers()).toHaveLength(1);

    // A restart: a new instance over the same storage (nothing in memory survives) takes the next alarm.
    // The fake counts its per-broadcast interval in real time, and a fresh instance's pacer has no memory of the last call.
    s.queue.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 400));
    await runInDurableObject(s.queue.stub, async (_old, state) => {
      const fresh = new SendQueue(state, env);
      fresh.clock = s.queue.clock;
      await fresh.alarm();
    });
    now = await sends(s);
    expect(now.get('v1')).toMatchObject({ status: 'sent', chunksSent: 2, recipientsSent: 15_000 });
    s.queue.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 400));
    await s.queue.runAlarm();
    expect((await sends(s)).get('v2')).toMatchObject({ status: 'sent', chunksSent: 1, recipientsSent: 7_000 });
    expect(await s.queue.alarmAt()).toBeNull();

    // The same send again (a reload): nothing new is triggered.
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-big-000001', broadcastId: 1, variations });
    const all = await triggers();
    expect(all).toHaveLength(3);
    expect(all.every((t) => (t.body.emails as string[]).length <= 10_000)).toBe(true);
    const seen = new Map<string, string>();
    for (const t of all) {
      for (const email of t.body.emails as string[]) {
        expect(seen.has(email), `${email} twice`).toBe(false);
        seen.set(email, t.data.variation as string);
      }
    }
    expect(seen.size).toBe(22_000);
    const index = (email: string) => Number(/big-(\d+)@/.exec(email)![1]);
    expect([...seen].every(([email, v]) => (index(email) < 15_000 ? v === 'v1' : v === 'v2'))).toBe(true);
  }, 120_000);

  it('uses the segment mirror as one trigger\'s audience when it is in sync, first variation winning', async () => {
    const s = await workspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'mirror-p1@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'mirror-p2@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'mirror-b1@example.com', reads: 1, traits: { tier: 'basic' } },
    ]);
    const premium = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const everyone = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Everyone', rule: { fact: 'reads', op: 'gte', value: 1 } })).body.id;
    // Step the directory's mirror until Customer.io holds both segments.
    for (let i = 0; i < 50; i++) {
      const segs = await s.directory.listSegments();
      if (segs.every((x) => x.cioSegmentId !== null && x.pending === 0 && x.evaluating === null && x.mirrored === x.count && x.count > 0)) break;
      await runDurableObjectAlarm(s.directory);
    }
    const variations = [variation('v1', premium, 'Premium news'), variation('v2', everyone, 'News')];
    const preview = (await panelApi<SendPreview>(s, 'POST', `${w}/sends/preview`, { variations })).body;
    expect(preview).toMatchObject({ via: 'segment', triggers: 2, total: 3 });
    expect(preview.variations.map((v) => v.readers)).toEqual([2, 1]);

    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-mirror-0001', broadcastId: 1, variations });
    await s.queue.runAlarm();
    s.queue.clock.advance(1000);
    await s.queue.runAlarm();
    const now = await sends(s);
    expect([...now.values()].map((x) => [x.variation.id, x.status, x.audience, x.chunks])).toEqual(expect.arrayContaining([
      ['v1', 'sent', 'segment', 1], ['v2', 'sent', 'segment', 1],
    ]));
    const all = await triggers();
    expect(all).toHaveLength(2);
    const segs = new Map((await s.directory.listSegments()).map((x) => [x.id, x.cioSegmentId!]));
    const [t1, t2] = [all.find((t) => t.data.variation === 'v1')!, all.find((t) => t.data.variation === 'v2')!];
    expect(t1.body.recipients).toEqual({ segment: { id: segs.get(premium) } });
    expect(t2.body.recipients).toEqual({ and: [{ segment: { id: segs.get(everyone) } }, { not: { segment: { id: segs.get(premium) } } }] });
    // The fake resolves the filters against its segments: each person once.
    const { people } = await fake<{ people: Array<{ cio_id: string; email: string }> }>('/people?workspace=demo');
    const email = new Map(people.map((p) => [p.cio_id, p.email]));
    expect(t1.recipients.map((c) => email.get(c)).sort()).toEqual(['mirror-p1@example.com', 'mirror-p2@example.com']);
    expect(t2.recipients.map((c) => email.get(c))).toEqual(['mirror-b1@example.com']);
    // Its readers were still read from the directory behind the trigger: the send's results count them.
    const key = now.get('v2')!.key;
    await panelApi(s, 'GET', `${w}/sends/results?key=${encodeURIComponent(key)}`);
    await s.queue.runAlarm();
    const results = (await panelApi(s, 'GET', `${w}/sends/results?key=${encodeURIComponent(key)}`)).body;
    expect(results.ours).toMatchObject({ recipients: 1, opened: 0, countedAt: expect.any(Number) });
    expect(now.get('v1')!.recipients).toBe(2);
  }, 60_000);
});
