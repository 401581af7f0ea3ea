import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventually, fake } from './helpers.ts';
import { EDITOR_KEY, type PanelSession, panelApi, seedEngagedReaders, signIn, tagRule } from './panel-helpers.ts';
import { AHEAD_MS, manualSendQueue } from './send-queue-clock.ts';
import { SendStore } from '#edge/panel/sends/send-store.ts';
import type { SendView } from '#shared/panel-api.ts';
import { readerContext } from '#edge/readers/access.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { readerStub, sendQueueStub, workspaceStub } from '#edge/platform/stubs.ts';

interface Trigger { id: number; broadcast_id: number; audience: string; recipients: string[]; data: Record<string, unknown>; body: Record<string, unknown> }

/**
 * A workspace whose broadcasts may be triggered once a second, with its send queue on a manual
 * clock: the test moves the clock and runs each alarm. The fake's own (real-time) limit per
 * broadcast is kept below the 400 ms by which the queue spaces its real App calls, so what the
 * tests see is the queue's pacing by its clock, not the fake's.
 */
async function fastWorkspace(): Promise<PanelSession & { queue: Awaited<ReturnType<typeof manualSendQueue>> }> {
  await fake('/reset', { body: { broadcastIntervalMs: 300, clockOffsetMs: AHEAD_MS } });
  const ws = await createWorkspace({ editorKey: EDITOR_KEY, limits: { broadcastIntervalMs: 1000 } as never });
  const queue = await manualSendQueue(ws.id);
  return { ...(await signIn(ws.id)), secretKey: ws.secretKey, queue };
}

async function sends(s: PanelSession): Promise<SendView[]> {
  return (await panelApi(s, 'GET', `/workspaces/${s.workspace}/sends`)).body.sends;
}

async function appRequests(method: string, path: string): Promise<number> {
  const { requests } = await fake<{ requests: Array<{ path: string; method: string }> }>('/requests?workspace=demo&api=app');
  return requests.filter((r) => r.method === method && r.path === path).length;
}

async function cioEmails(): Promise<Map<string, string>> {
  const { people } = await fake<{ people: Array<{ cio_id: string; email: string }> }>('/people?workspace=demo');
  return new Map(people.map((p) => [p.cio_id, p.email]));
}

const variation = (id: string, segmentId: string, subject: string) => ({
  id, segmentId, subject, preheader: `${subject} in brief`,
  blocks: [{ kind: 'heading', text: subject }, { kind: 'paragraph', text: 'Hello, reader' }],
  cta: { label: 'Read more', url: 'https://news.example.com/latest' },
});

describe('panel sending', () => {
  it('triggers a broadcast with one variation per segment exactly once, whatever the double clicks and reloads', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'send-p1@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'send-p2@example.com', userId: 'send-user-p2', reads: 1, traits: { tier: 'pro' } },
      { email: 'send-b1@example.com', reads: 1, traits: { tier: 'basic' } },
    ]);
    const premium = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const basic = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Basic', rule: { fact: 'trait.tier', op: 'eq', value: 'basic' } })).body.id;
    const request = { draftId: 'draft-0001-abcdef', broadcastId: 1, variations: [variation('v1', premium, 'For our premium readers'), variation('v2', basic, 'Upgrade today')] };

    // A double click: two requests at once. Then a reload that sends the saved draft again.
    const [first, second] = await Promise.all([panelApi(s, 'POST', `${w}/sends`, request), panelApi(s, 'POST', `${w}/sends`, request)]);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(first.body.sends.map((x: { recipients: number }) => x.recipients)).toEqual([2, 1]);
    // The first alarm triggers v1; v2 is for the same broadcast and waits out its interval on the queue's clock.
    const { queue } = s;
    expect(await queue.runAlarm()).toBe(true);
    expect((await sends(s)).map((x) => [x.variation.id, x.status]).sort()).toEqual([['v1', 'sent'], ['v2', 'queued']]);
    expect(await queue.alarmAt()).toBe(queue.clock.now() + 1000);
    queue.clock.advance(999);
    await queue.runAlarm(); // woken early: nothing goes
    expect((await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers).toHaveLength(1);
    queue.clock.advance(1);
    await queue.runAlarm();
    const sent = await sends(s);
    expect(sent.length === 2 && sent.every((x) => x.status === 'sent')).toBe(true);
    expect(sent.every((x: { triggerId: number | null }) => typeof x.triggerId === 'number')).toBe(true);
    const again = await panelApi(s, 'POST', `${w}/sends`, request);
    expect(again.body.sends.map((x: { status: string }) => x.status)).toEqual(['sent', 'sent']);
    expect(await queue.alarmAt()).toBeNull(); // nothing left to wake for

    const { triggers } = await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo');
    expect(triggers).toHaveLength(2);
    const emails = await cioEmails();
    const bySubject = new Map(triggers.map((t) => [t.data.subject, t]));
    const t1 = bySubject.get('For our premium readers')!;
    const t2 = bySubject.get('Upgrade today')!;
    expect(t1.recipients.map((c) => emails.get(c)).sort()).toEqual(['send-p1@example.com', 'send-p2@example.com']);
    expect(t2.recipients.map((c) => emails.get(c))).toEqual(['send-b1@example.com']);
    expect(t1.data).toMatchObject({ variation: 'v1', preheader: 'For our premium readers in brief', cta_url: 'https://news.example.com/latest' });
    expect(t1.broadcast_id).toBe(1);
    expect(Object.keys(t2.body)).toContain('emails');
  });

  it('refuses Liquid inside trigger data, naming the field (Customer.io would show the braces)', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    const bad = { ...variation('v1', 'seg', 'Hi'), blocks: [{ kind: 'paragraph', text: 'Hello {{ customer.first_name }}' }] };
    const res = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-liquid-01', broadcastId: 1, variations: [bad] });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([expect.objectContaining({ path: 'variations.0.blocks.0.text', message: expect.stringMatching(/broadcast template/) })]);
  });

  it('sends a test to one address only, never as the send, and the real send waits out the broadcast interval after it', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'test-editor@example.com', reads: 1, traits: { tier: 'basic' } },
      { email: 'test-p1@example.com', reads: 1, traits: { tier: 'premium' } },
    ]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const { segmentId: _, ...arm } = variation('v1', seg, 'Test me');
    const tested = await panelApi(s, 'POST', `${w}/sends/test`, { broadcastId: 1, email: 'test-editor@example.com', variation: arm });
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ email: 'test-editor@example.com', variation: 'v1' });
    const [trigger] = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
    expect(trigger!.body.emails).toEqual(['test-editor@example.com']);
    expect(trigger!.body.email_ignore_missing).toBeUndefined();
    expect((await cioEmails()).get(trigger!.recipients[0]!)).toBe('test-editor@example.com');
    expect(trigger!.recipients).toHaveLength(1);
    expect(await sends(s)).toEqual([]); // not a send
    // Again at once: the broadcast's interval, said plainly.
    const again = await panelApi(s, 'POST', `${w}/sends/test`, { broadcastId: 1, email: 'test-editor@example.com', variation: arm });
    expect(again.status).toBe(409);
    expect(again.body.error ?? again.body.message).toMatch(/try the test again in 1 s/);
    // An address Customer.io does not know: its refusal, not a silent nothing.
    s.queue.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 400));
    const unknown = await panelApi(s, 'POST', `${w}/sends/test`, { broadcastId: 1, email: 'nobody@example.com', variation: arm });
    expect(unknown.status).toBe(422);
    expect(JSON.stringify(unknown.body)).toMatch(/not found/);

    // The real send goes after the interval and reaches the segment only.
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-after-test', broadcastId: 1, variations: [variation('v1', seg, 'Test me')] });
    await s.queue.runAlarm();
    expect((await sends(s))[0]!.status).toBe('queued');
    s.queue.clock.advance(1000);
    await new Promise((r) => setTimeout(r, 400));
    await s.queue.runAlarm();
    expect((await sends(s))[0]!.status).toBe('sent');
    const all = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
    // (By emails, or by the segment's mirror if the directory has synced it meanwhile: either way the segment only.)
    const emails = await cioEmails();
    expect(all.at(-1)!.recipients.map((c) => emails.get(c))).toEqual(['test-p1@example.com']);
    expect(all).toHaveLength(2);
  });

  it('shows results per send from our counts (its own email only, human and machine apart) beside Customer.io\'s broadcast metrics', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'res-1@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'res-2@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'res-3@example.com', reads: 1, traits: { tier: 'premium' } },
    ]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const queued = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-results-1', broadcastId: 1, variations: [variation('v1', seg, 'Results')] });
    const key = queued.body.sends[0].key as string;
    await s.queue.runAlarm();
    const sent = (await sends(s))[0]!;
    expect(sent.status).toBe('sent');
    if (sent.audience === 'segment') return; // the mirror synced first: no per-reader list to count (said in the view)

    const ws = (await workspaceStub(env, s.workspace).edgeView())!;
    const at = s.queue.clock.now() + 5_000;
    const event = (key: string, e: Record<string, unknown>) => readerStub(env, s.workspace, key)
      .ingest(readerContext(ws, key as ReaderKey), [{ id: `r-${key}-${String(e.type)}-${String(e.campaign)}-${String(e.human)}`, ts: at, ...e } as never]);
    await event('e:res-1@example.com', { type: 'open', human: true, campaign: '1', delivery: 'd1' });
    await event('e:res-1@example.com', { type: 'click', human: true, campaign: '1', delivery: 'd1' });
    await event('e:res-2@example.com', { type: 'open', human: false, campaign: '1', delivery: 'd2' });
    await event('e:res-3@example.com', { type: 'open', human: true, campaign: '44', delivery: 'other' }); // another campaign

    const first = (await panelApi(s, 'GET', `${w}/sends/results?key=${encodeURIComponent(key)}`)).body;
    expect(first.ours.countedAt).toBeNull(); // asked: counted at the next alarm
    expect(first.customerio).toMatchObject({ broadcastId: 1, sent: 3, delivered: 3 });
    await s.queue.runAlarm();
    const counted = (await panelApi(s, 'GET', `${w}/sends/results?key=${encodeURIComponent(key)}`)).body;
    expect(counted.ours).toMatchObject({ recipients: 3, opened: 1, clicked: 1, openedMachine: 1, clickedMachine: 0, countedAt: expect.any(Number) });
    expect((await panelApi(s, 'GET', `${w}/sends/results?key=nope`)).status).toBe(404);
    expect(await s.queue.alarmAt()).toBeNull(); // counting runs only when asked
  });

  it('decides an A/B test by itself after the editor\'s hours, once, and sends the winner to the rest', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, Array.from({ length: 7 }, (_, i) => ({ email: `auto-${i}@example.com`, reads: 1, traits: { tier: 'premium' } })));
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const created = await panelApi(s, 'POST', `${w}/ab-tests`, {
      draftId: 'draft-ab-auto-01', name: 'Auto', segmentId: seg, broadcastId: 2, testShare: 0.5, autoDecideHours: 2,
      arms: [{ id: 'a', subject: 'A' }, { id: 'b', subject: 'B' }],
    });
    expect(created.status).toBe(201);
    expect(created.body.autoDecideAt).toBe(s.queue.clock.now() + 2 * 3_600_000);
    await s.queue.runAlarm();
    s.queue.clock.advance(1000);
    await s.queue.runAlarm();
    // The issue's 7 readers at 50 %: 4 tested as 2 and 2 (not 3 against 1), 3 for the winner.
    const running = (await panelApi(s, 'GET', `${w}/ab-tests/${created.body.id}`)).body;
    expect(running.results.map((r: { recipients: number }) => r.recipients)).toEqual([2, 2]);
    expect(running.status).toBe('testing');
    // The queue wakes for its recounts and for the decision; two hours on, it decides by itself.
    expect(await s.queue.alarmAt()).not.toBeNull();
    s.queue.clock.advance(2 * 3_600_000);
    await new Promise((r) => setTimeout(r, 400));
    await s.queue.runAlarm();
    const decided = (await panelApi(s, 'GET', `${w}/ab-tests/${created.body.id}`)).body;
    expect(decided).toMatchObject({ status: 'decided', winner: 0, rest: 3, autoDecideAt: null });
    const triggers = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
    expect(triggers.map((t) => t.data.variation)).toEqual(['a', 'b', 'a']);
    expect(triggers[2]!.recipients).toHaveLength(3);
    expect(await s.queue.alarmAt()).toBeNull();
  });

  it('shows a failed trigger with its error and does not retry a refused one', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'fail-1@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const res = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-fail-0001', broadcastId: 999, variations: [variation('v1', seg, 'Nowhere')] });
    expect(res.status).toBe(202);
    await s.queue.runAlarm();
    const [failed] = await sends(s);
    expect(failed!.status).toBe('failed');
    expect(failed!.error).toMatch(/404/);
    expect(failed!.attempts).toBe(1);
    expect(await s.queue.alarmAt()).toBeNull(); // a refusal is not retried
    const bad = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'x', broadcastId: 1, variations: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['draftId', 'variations']));
  });

  it('never triggers twice when Customer.io took the trigger but the answer was lost (a 502 after it applied)', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'unclear-1@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const before = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers.length;
    // The next App call (the trigger) is applied, then answered 502: the edge cannot tell it happened.
    await fake('/failures', { body: { status: 502, count: 1, api: 'app', path: '/v1/campaigns/', afterApply: true } });
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-unclear-01', broadcastId: 2, variations: [variation('v1', seg, 'Once only')] });
    // The trigger's time must compare with the fake's created_at, as it would with Customer.io's.
    s.queue.catchUp();
    await s.queue.runAlarm();
    const [unclear] = await sends(s);
    expect(unclear).toMatchObject({ status: 'retrying', attempts: 1, triggerId: null });
    expect(unclear!.error).toMatch(/502/);
    s.queue.clock.set((await s.queue.alarmAt())!);
    await s.queue.runAlarm();
    const [sent] = await sends(s);
    expect(sent!.status).toBe('sent');
    const { triggers } = await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo');
    expect(triggers.length - before).toBe(1);
    // The send found its own trigger in the broadcast's list instead of triggering again.
    expect(sent!.triggerId).toBe(triggers.at(-1)!.id);
    expect(await appRequests('GET', '/v1/broadcasts/2/triggers')).toBe(1);
    expect(await appRequests('POST', '/v1/campaigns/2/triggers')).toBe(1);
    expect(await s.queue.alarmAt()).toBeNull();
  });

  it('retries a 500 after backoff on its clock, once the broadcast\'s triggers show it did not go through', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'retry-500@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    await fake('/failures', { body: { status: 500, count: 1, api: 'app', path: '/v1/campaigns/' } });
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-retry-500', broadcastId: 1, variations: [variation('v1', seg, 'After a 500')] });
    const attemptAt = s.queue.clock.now();
    await s.queue.runAlarm();
    const [retrying] = await sends(s);
    expect(retrying).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(retrying!.error).toMatch(/^500/);
    // The first retry waits 0.5-1 s (exponential backoff with jitter), and no less than the
    // broadcast's interval (1 s) since the last trigger; the queue wakes for it.
    const wait = retrying!.nextAttemptAt! - attemptAt;
    expect(wait).toBeGreaterThanOrEqual(500);
    expect(wait).toBeLessThanOrEqual(1000);
    const retryAt = Math.max(retrying!.nextAttemptAt!, attemptAt + 1000);
    expect(await s.queue.alarmAt()).toBe(retryAt);

    s.queue.clock.set(retryAt - 1);
    await s.queue.runAlarm(); // a moment early: nothing is called
    expect(await appRequests('POST', '/v1/campaigns/1/triggers')).toBe(1);
    expect(await appRequests('GET', '/v1/broadcasts/1/triggers')).toBe(0);

    s.queue.clock.advance(1);
    await s.queue.runAlarm();
    const [sent] = await sends(s);
    expect(sent).toMatchObject({ status: 'sent', attempts: 2, error: null });
    // A 500 may have been applied: the broadcast's triggers were read first, then it was triggered once more.
    expect(await appRequests('GET', '/v1/broadcasts/1/triggers')).toBe(1);
    expect(await appRequests('POST', '/v1/campaigns/1/triggers')).toBe(2);
    const { triggers } = await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo');
    expect(triggers).toHaveLength(1);
    expect(sent!.triggerId).toBe(triggers[0]!.id);
  });

  it('waits out a 429\'s Retry-After, and so does every other send of that broadcast', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [
      { email: 'retry-429@example.com', reads: 1, traits: { tier: 'premium' } },
      { email: 'retry-429b@example.com', reads: 1, traits: { tier: 'basic' } },
    ]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const basic = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Basic', rule: { fact: 'trait.tier', op: 'eq', value: 'basic' } })).body.id;
    await fake('/failures', { body: { status: 429, count: 1, api: 'app', path: '/v1/campaigns/', retryAfter: 30 } });
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-retry-429', broadcastId: 1, variations: [variation('v1', seg, 'First'), variation('v2', basic, 'Second')] });
    const attemptAt = s.queue.clock.now();
    await s.queue.runAlarm();
    const byVariation = async () => new Map((await sends(s)).map((x) => [x.variation.id, x]));
    let now = await byVariation();
    expect(now.get('v1')).toMatchObject({ status: 'retrying', attempts: 1, nextAttemptAt: attemptAt + 30_000 });
    expect(now.get('v1')!.error).toMatch(/^429/);
    // v2 was due and its broadcast's interval is 1 s, but Customer.io asked for 30 s: it waits too.
    expect(now.get('v2')).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await s.queue.alarmAt()).toBe(attemptAt + 30_000);

    s.queue.clock.set(attemptAt + 29_999);
    await s.queue.runAlarm();
    expect(await appRequests('POST', '/v1/campaigns/1/triggers')).toBe(1);

    s.queue.clock.advance(1);
    await s.queue.runAlarm();
    now = await byVariation();
    expect(now.get('v1')).toMatchObject({ status: 'sent', attempts: 2 });
    expect(now.get('v2')!.status).toBe('queued'); // the broadcast's interval again
    expect(await appRequests('GET', '/v1/broadcasts/1/triggers')).toBe(0); // a 429 is a clear refusal: nothing to look up
    s.queue.clock.advance(1000);
    await s.queue.runAlarm();
    now = await byVariation();
    expect(now.get('v2')).toMatchObject({ status: 'sent', attempts: 1 });
    expect((await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers.map((t) => t.data.subject)).toEqual(['First', 'Second']);
  });

  it('sends a journey event with the variation data to each recipient through the outbox', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'journey-1@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const request = { draftId: 'draft-journey-1', broadcastId: 1, mode: 'journey', eventName: 'newsletter_variation', variations: [variation('j1', seg, 'Journey hello')] };
    await panelApi(s, 'POST', `${w}/sends`, request);
    await panelApi(s, 'POST', `${w}/sends`, request);
    await s.queue.runAlarm();
    expect((await sends(s)).map((x) => [x.status, x.attempts])).toEqual([['sent', 1]]);
    expect(await s.queue.alarmAt()).toBeNull();
    // From here the outbox shards carry the event, on their own (real-time) alarms.
    const person = await eventually(async () => {
      const p = await fake<{ events: Array<{ name: string; data?: Record<string, unknown>; attributes?: Record<string, unknown> }> }>('/people/demo/journey-1@example.com');
      return p.events.some((e) => e.name === 'newsletter_variation') ? p : undefined;
    }, 20_000, 'the journey event');
    const events = person.events.filter((e) => e.name === 'newsletter_variation');
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0])).toContain('Journey hello');
    expect((await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers).toHaveLength(0);
  });

  it('hands a large journey send to the outbox in bounded steps, one event per recipient', async () => {
    const s = await fastWorkspace();
    const audience = Array.from({ length: 2_500 }, (_, i) => ({ key: `e:big-${i}@example.com`, idType: 'email' as const, value: `big-${i}@example.com` }));
    const variationOf = { id: 'big', segmentId: 'seg-big', subject: 'To many', preheader: '', blocks: [], cta: null };
    // Queued as enqueue would (the directory is not needed to show the fan-out).
    await runInDurableObject(s.queue.stub, async (_queue, state) => {
      const store = new SendStore(state.storage.sql);
      store.setWorkspace(s.workspace);
      store.insertSend({ key: 'b1:draft-big:big', broadcastId: 1, mode: 'journey', eventName: 'big_journey', variation: variationOf, segmentName: 'Big', audience, abTest: null }, s.queue.clock.now());
      await state.storage.setAlarm(s.queue.clock.now());
    });
    expect(await s.queue.runAlarm()).toBe(true);
    const [sent] = await sends(s);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, recipients: 2_500 });
    const handedOver = await runInDurableObject(s.queue.stub, (_queue, state) => state.storage.sql.exec<{ n: number }>("SELECT handed_over AS n FROM sends WHERE key = 'b1:draft-big:big'").one().n);
    expect(handedOver).toBe(2_500);
    const people = await eventually(async () => {
      const { people } = await fake<{ people: Array<{ email: string; events: Array<{ name: string }> }> }>('/people?workspace=demo');
      const reached = people.filter((p) => p.events.some((e) => e.name === 'big_journey'));
      return reached.length >= 2_500 ? reached : undefined;
    }, 40_000, 'every recipient\'s event');
    expect(people).toHaveLength(2_500);
    expect(people.every((p) => p.events.filter((e) => e.name === 'big_journey').length === 1)).toBe(true);
  });

  it('splits a segment into arms, picks the arm with more human opens, and sends the winner to the rest', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    const people = Array.from({ length: 12 }, (_, i) => ({ email: `ab-${i}@example.com`, reads: 1, traits: { tier: 'premium' } }));
    await seedEngagedReaders(s, people);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const input = {
      draftId: 'draft-ab-000001', name: 'Subject line test', segmentId: seg, broadcastId: 2, testShare: 0.6,
      arms: [{ id: 'a', subject: 'Markets today', blocks: [], cta: null }, { id: 'b', subject: 'What moved the markets', blocks: [], cta: null }],
    };
    const [created, doubled] = await Promise.all([panelApi(s, 'POST', `${w}/ab-tests`, input), panelApi(s, 'POST', `${w}/ab-tests`, input)]);
    expect(created.status).toBe(201);
    expect(doubled.body.id).toBe(created.body.id);
    // The alarm reads the segment's members and splits them; both arms go to broadcast 2, arm B one
    // broadcast interval after arm A.
    await s.queue.runAlarm();
    const test = (await panelApi(s, 'GET', `${w}/ab-tests/${created.body.id}`)).body;
    const armSizes = test.results.map((r: { recipients: number }) => r.recipients);
    // An exact split: 60 % of 12 is 7 readers, as 4 and 3.
    expect(armSizes).toEqual([4, 3]);
    s.queue.clock.advance(1000);
    await s.queue.runAlarm();
    expect((await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers.map((t) => t.data.variation)).toEqual(['a', 'b']);

    // The alarm that sent arm B counted the results once (nothing yet), and recounts a minute later.
    expect((await panelApi(s, 'GET', `${w}/ab-tests/${test.id}`)).body).toMatchObject({ countedAt: expect.any(Number), warning: expect.stringMatching(/may be chance/) });

    // Arm B's readers open the test's own email (broadcast 2, after it went out). Arm A's readers open
    // only unrelated mail: another campaign (with clicks), and this broadcast's earlier send (before
    // the test), plus one machine open (a proxy) of the test's email. None of that is arm A's result.
    const ws = (await workspaceStub(env, s.workspace).edgeView())!;
    const baseline = await runArmKeys(s.workspace, test.id);
    const sentAt = s.queue.clock.now();
    const event = async (key: string, e: Record<string, unknown>) => {
      const stub = readerStub(env, s.workspace, key);
      await stub.ingest(readerContext(ws, key as ReaderKey), [{ id: `ev-${key}-${JSON.stringify(e).length}-${String(e.campaign)}-${String(e.ts)}`, ...e } as never]);
    };
    for (const key of baseline.get(1)!) await event(key, { type: 'open', ts: sentAt + 5_000, human: true, campaign: '2', delivery: `d-${key}` });
    for (const key of baseline.get(0)!) {
      await event(key, { type: 'open', ts: sentAt + 5_000, human: true, campaign: '9', delivery: `other-${key}` });
      await event(key, { type: 'click', ts: sentAt + 6_000, human: true, campaign: '9', delivery: `other-${key}` });
      await event(key, { type: 'open', ts: sentAt - 3 * 86_400_000, human: true, campaign: '2', delivery: `old-${key}` });
    }
    await event(baseline.get(0)![0]!, { type: 'open', ts: sentAt + 7_000, human: false, campaign: '2', delivery: `d-${baseline.get(0)![0]}` });

    s.queue.clock.advance(60_000);
    await s.queue.runAlarm();
    const counted = (await panelApi(s, 'GET', `${w}/ab-tests/${test.id}`)).body;
    expect(counted.results.map((r: { humanOpens: number; clicks: number; machineOpens: number }) => [r.humanOpens, r.clicks, r.machineOpens])).toEqual([[0, 0, 1], [3, 0, 0]]);
    expect(counted.confidence[1]).toBeGreaterThan(0.9);
    expect(counted.warning).toMatch(/recipients \(fewer than 100\)/);

    const decided = await panelApi(s, 'POST', `${w}/ab-tests/${test.id}/decide`);
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'decided', winner: 1 });
    const restSize = 12 - armSizes[0] - armSizes[1];
    expect(decided.body.rest).toBe(restSize);
    await panelApi(s, 'POST', `${w}/ab-tests/${test.id}/decide`); // twice: still one send to the rest

    s.queue.clock.advance(1000);
    await s.queue.runAlarm();
    expect(await s.queue.alarmAt()).toBeNull();
    const triggers = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
    expect(triggers).toHaveLength(3);
    const emails = await cioEmails();
    const tested = new Set([...baseline.get(0)!, ...baseline.get(1)!].map((k) => k.slice(2)));
    const rest = triggers.find((t) => t.recipients.every((c) => !tested.has(emails.get(c)!)) && t.recipients.length === restSize)!;
    expect(rest.data).toMatchObject({ variation: 'b', subject: 'What moved the markets' });
  });
});

/** The test's arm membership as the send queue recorded it (from its sends' audiences). */
async function runArmKeys(workspace: string, testId: string): Promise<Map<number, string[]>> {
  const stub = sendQueueStub(env, workspace);
  const test = (await stub.abTest(testId))!;
  const out = new Map<number, string[]>();
  await runInDurableObject(stub, async (_instance, state) => {
    for (const row of state.storage.sql.exec<{ key: string; arm: number }>('SELECT key, arm FROM ab_baseline WHERE test_id = ?', test.id).toArray()) {
      out.set(row.arm, [...(out.get(row.arm) ?? []), row.key]);
    }
  });
  return out;
}
