// Double opt-in in workerd: the setting's validation, a widget sign-up kept pending and synced as
// unconfirmed, its confirmation email sent once with an opaque link, the link confirming once
// (then "already"), bad / expired / tampered links answered with a plain page, the welcome waiting
// for the confirmation, and a sign-up never confirmed forgotten by its reader's alarm.
import { SELF, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventually, fake, page, postEvents, resetFake, serverApi, QUICK_SYNC } from './helpers.ts';
import { EDITOR_KEY, panelApi, signIn } from './panel-helpers.ts';
import { manualSendQueue } from './send-queue-clock.ts';
import { readerStub, workspaceStub } from '#edge/platform/stubs.ts';
import { signConfirmToken } from '#shared/email/confirm-tokens.ts';
import { manualClock } from '#edge/platform/clock.ts';
import type { ReaderKey } from '#edge/readers/names.ts';

const EDGE = 'https://edge.test';
const DAY = 86_400_000;
const OPT_IN = { enabled: true, transactionalMessageId: 42, expiresDays: 7, forgetAfterDays: 30 };

interface Delivery { body: Record<string, any> }
const deliveries = async () => (await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries;
const person = (email: string) => fake(`/people/demo/${encodeURIComponent(email)}`).catch(() => null);
const admin = (id: string, method: string, body: unknown) =>
  SELF.fetch(`${EDGE}/v1/admin/workspaces/${id}`, { method, headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const signupEvent = (anonymousId: string, email: string, id: string) => ({ id, type: 'signup', anonymousId, ts: Date.now(), email, consent: true, topics: ['crypto'] });

async function openLink(url: string) {
  const res = await SELF.fetch(url);
  const html = await res.text();
  // Always a plain page, never JSON and never a 500.
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.status).toBeLessThan(500);
  return { status: res.status, title: /<h1>(.*?)<\/h1>/.exec(html)?.[1] };
}

describe('double opt-in', () => {
  it('validates the setting field by field and merges it on PATCH', async () => {
    const ws = await createWorkspace(QUICK_SYNC);
    const missing = await admin(ws.id, 'PATCH', { doubleOptIn: { enabled: true } });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(await missing.json())).toContain('doubleOptIn.transactionalMessageId');
    const tooLong = await admin(ws.id, 'PATCH', { doubleOptIn: { enabled: true, transactionalMessageId: 3, expiresDays: 20, forgetAfterDays: 10 } });
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(await tooLong.json())).toContain('doubleOptIn.expiresDays');
    const badType = await admin(ws.id, 'PATCH', { doubleOptIn: { enabled: 'yes' } });
    expect(badType.status).toBe(400);
    expect(JSON.stringify(await badType.json())).toContain('doubleOptIn.enabled');

    const read = async () => ((await (await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws.id}`, { headers: ADMIN })).json()) as any).doubleOptIn;
    expect(await read()).toEqual({ enabled: false, expiresDays: 7, forgetAfterDays: 30 });
    expect((await admin(ws.id, 'PATCH', { doubleOptIn: { enabled: true, transactionalMessageId: 'confirm-signup' } })).status).toBe(200);
    expect((await admin(ws.id, 'PATCH', { doubleOptIn: { forgetAfterDays: 14 } })).status).toBe(200);
    expect(await read()).toEqual({ enabled: true, transactionalMessageId: 'confirm-signup', expiresDays: 7, forgetAfterDays: 14 });
  });

  it('keeps a sign-up pending, sends one confirmation with an opaque link, confirms once, then welcomes', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, editorKey: EDITOR_KEY, welcomeMessageId: 7, doubleOptIn: OPT_IN });
    const queue = await manualSendQueue(ws.id);
    const email = 'pending-reader@example.com';
    const anon = 'anon-optin-00001';
    const signup = signupEvent(anon, email, 'signup-optin-00001');
    const first = await postEvents({ workspace: ws.id, events: [page(anon), signup] });
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: 2, confirm: true });
    // A retried form hears the same.
    expect(await (await postEvents({ workspace: ws.id, events: [signup] })).json()).toMatchObject({ accepted: 0, duplicates: 1, confirm: true });

    // Synced as unconfirmed, so journeys can skip it.
    const synced = await eventually(async () => (await person(email))?.attributes?.sharpsend_confirmed === false && person(email), 20_000, 'the pending person');
    expect(synced.attributes.sharpsend_pending_since).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(synced.attributes.sharpsend_confirmed_at).toBeUndefined();

    // One confirmation email queued, and no welcome before the confirmation.
    const queued = await eventually(async () => { const w = await queue.stub.welcomes(); return w.length ? w : null; }, 30_000, 'the confirmation queued');
    expect(queued.map((w) => w.kind)).toEqual(['confirm']);
    await queue.runAlarm();
    const [sent, ...more] = await deliveries();
    expect(more).toHaveLength(0);
    expect(sent!.body).toMatchObject({ transactional_message_id: 42, to: email, identifiers: { email } });
    const url = sent!.body.message_data.confirm_url as string;
    expect(url).toMatch(new RegExp(`^${EDGE}/confirm/${ws.id}/k1\\.[A-Za-z0-9_-]+$`));
    // No address in the link, in any encoding.
    for (const shown of [email, encodeURIComponent(email), 'pending-reader', btoa(`e:${email}`).replace(/=+$/, '')]) expect(url).not.toContain(shown);
    expect(sent!.body.message_data.expires_at).toBeGreaterThan(Date.now() / 1000 + 6 * 86_400);

    // The panel lists the pending sign-up and counts it.
    const s = await signIn(ws.id);
    const pending = await panelApi(s, 'GET', `/workspaces/${ws.id}/pending-signups`);
    expect(pending.body).toMatchObject({ total: 1, next: null, signups: [expect.objectContaining({ email, key: `e:${email}` })] });
    expect((await panelApi(s, 'GET', `/workspaces/${ws.id}/overview`)).body.pendingSignups).toBe(1);
    // A segment can leave pending sign-ups out.
    const confirmedOnly = { not: { fact: 'pending_confirmation', op: 'exists' } };
    expect((await panelApi(s, 'POST', `/workspaces/${ws.id}/segments/preview`, { rule: confirmedOnly })).body).toMatchObject({ count: 0, total: 1 });

    expect(await openLink(url)).toEqual({ status: 200, title: "You're confirmed" });
    expect(await openLink(url)).toEqual({ status: 200, title: 'Already confirmed' });
    const reader = (await (await serverApi(ws.secretKey, `/reader?email=${encodeURIComponent(email)}`)).json()) as any;
    expect(reader.pendingSince).toBeNull();
    expect(reader.confirmedAt).toBeGreaterThan(Date.now() - 60_000);

    const confirmed = await eventually(async () => (await person(email))?.attributes?.sharpsend_confirmed === true && person(email), 20_000, 'the confirmation synced');
    expect(confirmed.attributes.sharpsend_confirmed_at).toBe(Math.floor(reader.confirmedAt / 1000));
    // Off the pending list; the welcome goes now, and no second confirmation.
    await eventually(async () => (await panelApi(s, 'GET', `/workspaces/${ws.id}/pending-signups`)).body.total === 0, 20_000, 'the pending list empty');
    expect((await panelApi(s, 'POST', `/workspaces/${ws.id}/segments/preview`, { rule: confirmedOnly })).body).toMatchObject({ count: 1, total: 1 });
    await eventually(async () => (await queue.stub.welcomes()).length === 2, 20_000, 'the welcome queued');
    queue.clock.advance(60_000);
    await queue.runAlarm();
    expect((await deliveries()).map((d) => d.body.transactional_message_id)).toEqual([42, 7]);
    expect((await queue.stub.welcomes()).map((w) => w.kind).sort()).toEqual(['confirm', 'welcome']);
  });

  it('sends a new confirmation to a sign-up made again while waiting, at most once an hour', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, doubleOptIn: OPT_IN });
    const queue = await manualSendQueue(ws.id);
    const email = 'asks-again@example.com';
    await postEvents({ workspace: ws.id, events: [signupEvent('anon-optin-00010', email, 'signup-optin-00010')] });
    await eventually(async () => (await queue.stub.welcomes()).length === 1, 30_000, 'the first confirmation queued');
    await queue.runAlarm();
    expect(await deliveries()).toHaveLength(1);

    const stub = readerStub(env, ws.id, `e:${email}` as ReaderKey);
    const since = (await runInDurableObject(stub, async (obj) => (await obj.view())!.pendingSince!));
    const clock = manualClock(since + 30 * 60_000);
    await runInDurableObject(stub, (obj) => { obj.clock = clock; });
    // Half an hour later, from another browser: the form says "check your inbox", no new email.
    expect(await (await postEvents({ workspace: ws.id, events: [signupEvent('anon-optin-00011', email, 'signup-optin-00011')] })).json()).toMatchObject({ confirm: true });
    expect(await runInDurableObject(stub, async (obj) => (await obj.view())!.pendingSince)).toBe(since);
    // An hour after the first: the wait starts again and a new link goes out.
    clock.set(since + 3_600_000);
    expect(await (await postEvents({ workspace: ws.id, events: [signupEvent('anon-optin-00012', email, 'signup-optin-00012')] })).json()).toMatchObject({ confirm: true });
    expect(await runInDurableObject(stub, async (obj) => (await obj.view())!.pendingSince)).toBe(since + 3_600_000);
    await eventually(async () => (await queue.stub.welcomes()).length === 2, 30_000, 'the second confirmation queued');
    queue.clock.advance(60_000);
    await queue.runAlarm();
    const links = (await deliveries()).map((d) => d.body.message_data.confirm_url as string);
    expect(links).toHaveLength(2);
    expect(links[0]).not.toBe(links[1]);
    expect(await openLink(links[1]!)).toEqual({ status: 200, title: "You're confirmed" });
    expect(await openLink(links[0]!)).toEqual({ status: 200, title: 'Already confirmed' });
  });

  it('answers bad, expired, tampered and foreign links with a plain page and confirms nothing', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, doubleOptIn: OPT_IN });
    const other = await createWorkspace({ ...QUICK_SYNC, doubleOptIn: OPT_IN });
    const email = 'link-tester@example.com';
    await postEvents({ workspace: ws.id, events: [signupEvent('anon-optin-00002', email, 'signup-optin-00002')] });
    await eventually(async () => (await person(email))?.attributes?.sharpsend_confirmed === false, 20_000, 'the pending person');
    const keys = await workspaceStub(env, ws.id).signingKeys();
    const key = `e:${email}`;

    const expired = await signConfirmToken(ws.id, key, Date.now() - 1, keys[0]!);
    expect(await openLink(`${EDGE}/confirm/${ws.id}/${expired}`)).toEqual({ status: 410, title: 'This link is no longer valid' });
    const good = await signConfirmToken(ws.id, key, Date.now() + DAY, keys[0]!);
    const [kid, body] = good.split('.') as [string, string];
    const tampered = `${kid}.${body.slice(0, 12)}${body[12] === 'A' ? 'B' : 'A'}${body.slice(13)}`;
    for (const bad of [
      `${EDGE}/confirm/${ws.id}/${tampered}`, `${EDGE}/confirm/${other.id}/${good}`, `${EDGE}/confirm/no-such-ws/${good}`,
      `${EDGE}/confirm/${ws.id}/not-a-token`, `${EDGE}/confirm/${ws.id}`, `${EDGE}/confirm/${ws.id}/${good}/extra`, `${EDGE}/confirm/BAD%20WS/x`,
    ]) {
      expect(await openLink(bad), bad).toEqual({ status: 400, title: 'This link is no longer valid' });
    }
    const reader = (await (await serverApi(ws.secretKey, `/reader?email=${encodeURIComponent(email)}`)).json()) as any;
    expect(reader.confirmedAt ?? null).toBeNull();
    expect(reader.pendingSince).toBeGreaterThan(0);
    // The good one still works.
    expect(await openLink(`${EDGE}/confirm/${ws.id}/${good}`)).toEqual({ status: 200, title: "You're confirmed" });
  });

  it('forgets a sign-up still pending after forgetAfterDays: here, in the panel and in Customer.io', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, editorKey: EDITOR_KEY, doubleOptIn: { ...OPT_IN, forgetAfterDays: 10 } });
    const email = 'never-confirms@example.com';
    const anon = 'anon-optin-00003';
    await postEvents({ workspace: ws.id, events: [page(anon), signupEvent(anon, email, 'signup-optin-00003')] });
    await eventually(async () => (await person(email))?.attributes?.sharpsend_confirmed === false, 20_000, 'the pending person');
    const s = await signIn(ws.id);
    await eventually(async () => (await panelApi(s, 'GET', `/workspaces/${ws.id}/pending-signups`)).body.total === 1, 20_000, 'listed as pending');

    const stub = readerStub(env, ws.id, `e:${email}` as ReaderKey);
    const { pendingSince, alarm } = await runInDurableObject(stub, async (obj, state) => ({
      pendingSince: (await obj.view())!.pendingSince!, alarm: await state.storage.getAlarm(),
    }));
    expect(alarm).toBe(pendingSince + 10 * DAY);
    const clock = manualClock(pendingSince + 10 * DAY - 1);
    await runInDurableObject(stub, (obj) => { obj.clock = clock; });
    // A day early: nothing goes, and the alarm is set again.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, async (obj, state) => [Boolean(await obj.view()), await state.storage.getAlarm()])).toEqual([true, pendingSince + 10 * DAY]);
    clock.advance(1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect((await serverApi(ws.secretKey, `/reader?email=${encodeURIComponent(email)}`)).status).toBe(404);
    expect((await panelApi(s, 'GET', `/workspaces/${ws.id}/pending-signups`)).body.total).toBe(0);
    expect((await panelApi(s, 'GET', `/workspaces/${ws.id}/readers?q=${email}`)).body.readers).toEqual([]);
    await eventually(async () => (await person(email)) === null, 20_000, 'the person deleted in Customer.io');
    // The browser that signed up reads on: it is an anonymous reader again, not the address.
    expect((await postEvents({ workspace: ws.id, events: [page(anon)] })).status).toBe(202);
    const browser = (await (await serverApi(ws.secretKey, `/reader?anonymousId=${anon}`)).json()) as any;
    expect(browser).toMatchObject({ key: `a:${anon}`, known: false, email: null, mergedInto: null });
    expect(browser.counters.reads).toBe(1);
    expect((await serverApi(ws.secretKey, `/reader?email=${encodeURIComponent(email)}`)).status).toBe(404);
    // Its link, had it been kept, now has nothing to confirm.
    const keys = await workspaceStub(env, ws.id).signingKeys();
    const late = await signConfirmToken(ws.id, `e:${email}`, Date.now() + DAY, keys[0]!);
    expect(await openLink(`${EDGE}/confirm/${ws.id}/${late}`)).toEqual({ status: 410, title: 'This link is no longer valid' });
  });

  it('takes the backend\'s identify as confirmed, and leaves workspaces without double opt-in alone', async () => {
    await resetFake();
    const ws = await createWorkspace({ ...QUICK_SYNC, doubleOptIn: OPT_IN });
    expect((await serverApi(ws.secretKey, '/identify', { body: { userId: 'user-optin-1', traits: { email: 'backend@example.com' } } })).status).toBe(200);
    const named = await eventually(async () => (await person('backend@example.com'))?.attributes?.sharpsend_confirmed === true && person('backend@example.com'), 20_000, 'confirmed by the backend');
    expect(named.attributes.sharpsend_pending_since).toBeUndefined();

    const plain = await createWorkspace(QUICK_SYNC);
    const res = await postEvents({ workspace: plain.id, events: [signupEvent('anon-optin-00004', 'plain@example.com', 'signup-optin-00004')] });
    expect(await res.json()).not.toHaveProperty('confirm');
    const p = await eventually(async () => person('plain@example.com'), 20_000, 'the plain sign-up synced');
    expect(p.attributes.sharpsend_confirmed).toBeUndefined();
  });
});
