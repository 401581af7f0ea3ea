/**
 * The reader's whole journey on the demo page, end to end: read (scroll, wait, leave), pick two
 * topics, sign up; then the edge holds one known reader with the read, the picks and the merge,
 * and the fake Customer.io received the identify.
 */
import { expect, test } from '@playwright/test';
import { anonymousId, edgeReader, fakePeople, fakeRequests, picker, readToBottom, recordEvents, screenshot, signup, uniqueEmail } from './widget-helpers.ts';

test('read, pick two topics, sign up: the edge merges the reader and Customer.io hears of it', async ({ page, request }) => {
  const sent = recordEvents(page);
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeVisible();
  await screenshot(page, 'demo-page', false);
  await screenshot(page, 'demo-page-full');

  // No id is stored before there is something to send.
  expect(await anonymousId(page)).toBeNull();

  // Read: scroll to the end, linger, leave for the second article (the read goes as a beacon).
  await readToBottom(page);
  await page.waitForTimeout(1500);
  await page.getByRole('link', { name: /Earnings season/ }).first().click();
  await expect(page).toHaveURL(/demo\/stocks/);
  await page.waitForTimeout(1200);
  await page.goto('/demo/');
  const aid = await anonymousId(page);
  expect(aid).toMatch(/^[A-Za-z0-9_-]{8,64}$/);

  // The edge holds the anonymous reader's crypto read, with time and depth.
  await expect.poll(async () => (await edgeReader(request, { anonymousId: aid! })).body?.counters?.['reads.crypto'] ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
  const anon = (await edgeReader(request, { anonymousId: aid! })).body;
  expect(anon.counters['engaged_ms.crypto']).toBeGreaterThan(2000);
  expect(anon.counters['reads.stocks']).toBe(1);
  expect(anon.known).toBe(false);

  // Pick two topics: each saved at once and announced.
  const topics = picker(page);
  await topics.getByRole('checkbox', { name: 'Crypto' }).check();
  await topics.getByRole('checkbox', { name: 'Options & derivatives' }).check();
  await expect(topics.getByRole('status')).toHaveText('Saved. You follow Crypto and Options & derivatives.');
  expect(await page.evaluate(() => localStorage.getItem('sharpsend:prefs'))).toBe('["crypto","options"]');
  await expect(signup(page).getByText('Your topics: Crypto and Options & derivatives')).toBeVisible();
  await expect.poll(() => sent.events().filter((e) => e.type === 'preferences').length).toBeGreaterThanOrEqual(2);
  expect(sent.events().filter((e) => e.type === 'preferences').at(-1)).toMatchObject({ anonymousId: aid, topics: ['crypto', 'options'] });

  // Sign up: clicked three times, sent once.
  const email = uniqueEmail('reader');
  const form = signup(page);
  await expect(form.getByRole('heading', { name: 'Get The Sharp Ledger' })).toBeVisible(); // text from data-title
  await form.getByLabel('Email address').fill(email);
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  const button = form.getByRole('button', { name: 'Sign up' });
  await button.click();
  await button.click({ force: true, timeout: 1_000 }).catch(() => {}); // the button may be gone already
  await button.click({ force: true, timeout: 1_000 }).catch(() => {}); // the button may be gone already
  await expect(form.getByRole('status')).toContainText('You are in!');
  await screenshot(page, 'demo-signed-up', false);
  const signups = sent.events().filter((e) => e.type === 'signup');
  expect(signups).toHaveLength(1);
  expect(signups[0]).toMatchObject({ email, anonymousId: aid, consent: true, topics: ['crypto', 'options'] });

  // Picks are remembered for the returning reader.
  await page.reload();
  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeChecked();
  await expect(picker(page).getByRole('checkbox', { name: 'Options & derivatives' })).toBeChecked();
  await expect(picker(page).getByRole('checkbox', { name: 'Stocks' })).not.toBeChecked();

  // The edge: one known reader holding the read, the picks and the merged anonymous id.
  await expect.poll(async () => (await edgeReader(request, { email })).body?.known, { timeout: 10_000 }).toBe(true);
  const known = (await edgeReader(request, { email })).body;
  expect(known.email).toBe(email);
  expect(known.anonymousIds).toContain(aid);
  expect(known.topics).toEqual(expect.arrayContaining(['crypto', 'options']));
  expect(known.counters['reads.crypto']).toBeGreaterThanOrEqual(1);
  expect(known.counters['reads.stocks']).toBeGreaterThanOrEqual(1);
  expect(known.counters.picks).toBeGreaterThanOrEqual(1);

  // The fake Customer.io: the identify with email, anonymous_id, preferences and tags.
  await expect.poll(async () => (await fakePeople(request)).find((p) => p.email === email), { timeout: 20_000 }).toBeTruthy();
  const person = (await fakePeople(request)).find((p) => p.email === email);
  expect(person.attributes.sharpsend_topics).toEqual(expect.arrayContaining(['crypto', 'options']));
  expect(person.attributes.sharpsend_tags.length).toBeGreaterThan(0);
  expect(person.attributes.sharpsend_reads_crypto).toBeGreaterThanOrEqual(1);
  // No identify carries `anonymous_id`: the edge sends no anonymous activity for it to merge
  // (README "Identity"); the anonymous reads arrived as the person's own counters above.
  const identifies = (await fakeRequests(request)).filter((r) => r.workspace === 'demo' && JSON.stringify(r.body ?? '').includes(email));
  expect(identifies.length).toBeGreaterThanOrEqual(1);
  expect(identifies.filter((r) => JSON.stringify(r.body).includes(`"anonymous_id":"${aid}"`))).toEqual([]);
});
