import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace, eventually, fake } from './helpers.ts';
import { EDITOR_KEY, type PanelSession, panelApi, seedEngagedReaders, signIn, tagRule } from './panel-helpers.ts';
import { readerContext } from '#edge/readers/access.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { readerStub, sendQueueStub, workspaceStub } from '#edge/platform/stubs.ts';

interface Trigger { id: number; broadcast_id: number; audience: string; recipients: string[]; data: Record<string, unknown>; body: Record<string, unknown> }

/** A workspace whose broadcasts may be triggered once a second (the fake agrees), so the tests stay short. */
async function fastWorkspace(): Promise<PanelSession> {
  await fake('/reset', { body: { broadcastIntervalMs: 1000 } });
  const ws = await createWorkspace({ editorKey: EDITOR_KEY, limits: { broadcastIntervalMs: 1000 } as never });
  return { ...(await signIn(ws.id)), secretKey: ws.secretKey };
}

async function cioEmails(): Promise<Map<string, string>> {
  const { people } = await fake<{ people: Array<{ cio_id: string; email: string }> }>('/people?workspace=demo');
  return new Map(people.map((p) => [p.cio_id, p.email]));
}

const variation = (id: string, segmentId: string, subject: string) => ({
  id, segmentId, subject, preheader: `${subject} in brief`,
  blocks: [{ kind: 'heading', text: subject }, { kind: 'paragraph', text: 'Hello {{ customer.first_name | default: "reader" }}' }],
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
    const sent = await eventually(async () => {
      const { body } = await panelApi(s, 'GET', `${w}/sends`);
      return body.sends.length === 2 && body.sends.every((x: { status: string }) => x.status === 'sent') ? body.sends : undefined;
    }, 30_000, 'both sends sent');
    expect(sent.every((x: { triggerId: number | null }) => typeof x.triggerId === 'number')).toBe(true);
    const again = await panelApi(s, 'POST', `${w}/sends`, request);
    expect(again.body.sends.map((x: { status: string }) => x.status)).toEqual(['sent', 'sent']);
    await new Promise((r) => setTimeout(r, 1500));

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

  it('shows a failed trigger with its error and does not retry a refused one', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'fail-1@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const res = await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-fail-0001', broadcastId: 999, variations: [variation('v1', seg, 'Nowhere')] });
    expect(res.status).toBe(202);
    const failed = await eventually(async () => {
      const { body } = await panelApi(s, 'GET', `${w}/sends`);
      return body.sends[0]?.status === 'failed' ? body.sends[0] : undefined;
    }, 20_000, 'the failure');
    expect(failed.error).toMatch(/404/);
    expect(failed.attempts).toBe(1);
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
    await fake('/failures', { body: { status: 502, count: 1, api: 'app', afterApply: true } });
    await panelApi(s, 'POST', `${w}/sends`, { draftId: 'draft-unclear-01', broadcastId: 2, variations: [variation('v1', seg, 'Once only')] });
    const sent = await eventually(async () => {
      const { body } = await panelApi(s, 'GET', `${w}/sends`);
      return body.sends[0]?.status === 'sent' ? body.sends[0] : undefined;
    }, 30_000, 'the send recorded as sent');
    const { triggers } = await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo');
    expect(triggers.length - before).toBe(1);
    // The send found its own trigger in the broadcast's list instead of triggering again.
    expect(sent.triggerId).toBe(triggers.at(-1)!.id);
    const { requests } = await fake<{ requests: Array<{ path: string; method: string }> }>('/requests?workspace=demo&api=app');
    expect(requests.filter((r) => r.method === 'GET' && r.path === '/v1/broadcasts/2/triggers')).toHaveLength(1);
  });

  it('sends a journey event with the variation data to each recipient through the outbox', async () => {
    const s = await fastWorkspace();
    const w = `/workspaces/${s.workspace}`;
    await seedEngagedReaders(s, [{ email: 'journey-1@example.com', reads: 1, traits: { tier: 'premium' } }]);
    const seg = (await panelApi(s, 'POST', `${w}/segments`, { name: 'Premium', rule: tagRule('premium_subscriber') })).body.id;
    const request = { draftId: 'draft-journey-1', broadcastId: 1, mode: 'journey', eventName: 'newsletter_variation', variations: [variation('j1', seg, 'Journey hello')] };
    await panelApi(s, 'POST', `${w}/sends`, request);
    await panelApi(s, 'POST', `${w}/sends`, request);
    const person = await eventually(async () => {
      const p = await fake<{ events: Array<{ name: string; data?: Record<string, unknown>; attributes?: Record<string, unknown> }> }>('/people/demo/journey-1@example.com');
      return p.events.some((e) => e.name === 'newsletter_variation') ? p : undefined;
    }, 20_000, 'the journey event');
    const events = person.events.filter((e) => e.name === 'newsletter_variation');
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0])).toContain('Journey hello');
    expect((await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers).toHaveLength(0);
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
    const test = created.body;
    const armSizes = test.results.map((r: { recipients: number }) => r.recipients);
    expect(armSizes.every((n: number) => n > 0)).toBe(true);

    // Human opens for arm B's recipients only (as the pixel records them), one machine open for arm A.
    const ws = (await workspaceStub(env, s.workspace).edgeView())!;
    const baseline = await runArmKeys(s.workspace, test.id);
    const open = async (key: string, human: boolean) => {
      const stub = readerStub(env, s.workspace, key);
      await stub.ingest(readerContext(ws, key as ReaderKey), [{ type: 'open', id: `open-${key}-${human}`, ts: Date.now(), human }]);
    };
    for (const key of baseline.get(1)!) await open(key, true);
    await open(baseline.get(0)![0]!, false);

    const results = await eventually(async () => {
      const { body } = await panelApi(s, 'GET', `${w}/ab-tests/${test.id}`);
      return body.results[1].humanOpens === armSizes[1] ? body.results : undefined;
    }, 30_000, 'opens in the results');
    expect(results[0].humanOpens).toBe(0);

    const decided = await panelApi(s, 'POST', `${w}/ab-tests/${test.id}/decide`);
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'decided', winner: 1 });
    const restSize = 12 - armSizes[0] - armSizes[1];
    expect(decided.body.rest).toBe(restSize);
    await panelApi(s, 'POST', `${w}/ab-tests/${test.id}/decide`); // twice: still one send to the rest

    const triggers = await eventually(async () => {
      const { triggers } = await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo');
      return triggers.length >= 3 ? triggers : undefined;
    }, 30_000, 'three triggers');
    await new Promise((r) => setTimeout(r, 1500));
    const all = (await fake<{ triggers: Trigger[] }>('/broadcasts/triggers?workspace=demo')).triggers;
    expect(all).toHaveLength(3);
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
  const { runInDurableObject } = await import('cloudflare:test');
  await runInDurableObject(stub, async (_instance, state) => {
    for (const row of state.storage.sql.exec<{ key: string; arm: number }>('SELECT key, arm FROM ab_baseline WHERE test_id = ?', test.id).toArray()) {
      out.set(row.arm, [...(out.get(row.arm) ?? []), row.key]);
    }
  });
  return out;
}
