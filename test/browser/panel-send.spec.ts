/**
 * The editor triggers a broadcast with two variations for two segments: a test to their own address
 * first (one trigger, that address only, not a send), then a confirmation naming the broadcast, the
 * variations and the distinct audience; the fake Customer.io holds exactly two more triggers with
 * the right recipients and data, even after a double click and a reload. At desktop and phone width.
 */
import { expect, test } from '@playwright/test';
import { cioEmailsById, fake, panelCall, run, screenshot, seedReaders, signIn, waitForDirectory } from './panel-helpers.ts';

const email = (who: string) => `send-${who}-${run}@example.com`;
const cohort = `send-${run}`;
const people = [
  { email: email('pia'), reads: 2, traits: { tier: 'premium', cohort, first_name: 'Pia' } },
  { email: email('pat'), userId: `pat-${run}`, reads: 1, traits: { tier: 'pro', cohort, first_name: 'Pat' } },
  { email: email('bea'), reads: 1, traits: { tier: 'basic', cohort, first_name: 'Bea' } },
];

interface Trigger { id: number; broadcast_id: number; recipients: string[]; data: Record<string, any>; body: Record<string, unknown> }

test('two variations for two segments: exactly two triggers, whatever the double clicks and reloads', async ({ page, request }) => {
  test.setTimeout(120_000);
  await seedReaders(request, people);
  await signIn(page);
  await waitForDirectory(page, people, 'send-');
  const inCohort = { fact: 'trait.cohort', op: 'eq', value: cohort };
  const premium = await panelCall(page, 'POST', '/workspaces/demo/segments', { name: `Premium ${run}`, rule: { all: [inCohort, { fact: 'tags', op: 'contains', value: 'premium_subscriber' }] } });
  const basic = await panelCall(page, 'POST', '/workspaces/demo/segments', { name: `Free tier ${run}`, rule: { all: [inCohort, { not: { fact: 'tags', op: 'contains', value: 'premium_subscriber' } }] } });
  expect([premium.body.count, basic.body.count]).toEqual([2, 1]);

  await page.click('[data-nav=send]');
  await page.getByTestId('new-draft').click();
  await page.getByTestId('broadcast').selectOption({ label: 'Weekly digest (#1)' });
  const variations = page.getByTestId('variation');
  const fill = async (i: number, segment: string, subject: string, body: string) => {
    const v = variations.nth(i);
    await v.getByTestId('variation-segment').selectOption({ label: segment });
    await v.getByTestId('variation-subject').fill(subject);
    await v.getByTestId('variation-body').fill(body);
    await v.getByLabel('Link').fill('https://news.example.com/weekly');
  };
  await fill(0, `Premium ${run} (2)`, `Your premium briefing ${run}`, 'The week in markets, first for premium readers.');
  await page.getByTestId('add-variation').click();
  await fill(1, `Free tier ${run} (1)`, `This week, free ${run}`, 'The highlights, and what premium readers got.');
  await expect(page.getByTestId('audience-total')).toHaveText('3');
  await expect(variations.nth(0).getByTestId('preview')).toContainText(/Hello (Pia|Pat),/);
  await screenshot(page, 'panel-send-compose');

  // A test to the editor's own address (Bea stands in for the editor): one trigger, one address.
  const before = (await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo')).triggers.length;
  await page.getByTestId('test-email').fill(email('bea'));
  await page.getByTestId('test-variation').selectOption({ index: 0 });
  await page.getByTestId('test-send').click();
  await expect(page.getByTestId('test-result')).toContainText(`sent to ${email('bea')}`, { timeout: 20_000 });
  const afterTest = (await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo')).triggers;
  expect(afterTest).toHaveLength(before + 1);
  const testTrigger = afterTest.at(-1)!;
  expect(testTrigger.body.emails).toEqual([email('bea')]);
  expect(testTrigger.data).toMatchObject({ subject: `Your premium briefing ${run}`, test: true });
  await expect(page.getByTestId('sends-table').locator('tbody tr', { hasText: `Your premium briefing ${run}` })).toHaveCount(0);

  // Send asks first: the broadcast, each variation with its distinct readers, the total.
  await page.getByTestId('send-button').click();
  const confirm = page.getByTestId('confirm');
  await expect(confirm).toBeVisible();
  await expect(page.getByTestId('confirm-broadcast')).toHaveText('Weekly digest (#1)');
  await expect(confirm.getByTestId('confirm-variation')).toHaveCount(2);
  await expect(confirm.getByTestId('confirm-variation').nth(0)).toContainText(`Premium ${run}`);
  await expect(confirm.getByTestId('confirm-variation').nth(0)).toContainText('2');
  await expect(confirm.getByTestId('confirm-send')).toHaveText('Send to 3 readers');
  await screenshot(page, 'panel-send-confirm');
  await page.getByTestId('confirm-cancel').click();
  await expect(confirm).toHaveCount(0);
  expect((await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo')).triggers).toHaveLength(before + 1);

  // Confirmed with a double click, then a reload with the saved draft and another click.
  await page.getByTestId('send-button').click();
  await page.getByTestId('confirm-send').dblclick();
  await expect(variations.nth(0).getByTestId('send-status')).toContainText('sent', { timeout: 20_000 });
  await page.reload();
  await expect(variations.nth(1).getByTestId('variation-subject')).toHaveValue(`This week, free ${run}`);
  await page.getByTestId('send-button').click({ force: true });
  // Customer.io takes one trigger per broadcast per 10 s: the second variation follows.
  await expect(variations.nth(1).getByTestId('send-status')).toContainText('sent', { timeout: 30_000 });
  await expect(page.getByTestId('send-button')).toHaveText('Sent ✓');
  await expect(page.getByTestId('sends-table').getByTestId('send-progress').first()).toContainText(/\d+ \/ \d+/);
  await screenshot(page, 'panel-send-sent');
  // Results of one send: ours beside Customer.io's broadcast metrics.
  await page.getByTestId('sends-table').locator('tbody tr', { hasText: `Your premium briefing ${run}` }).getByTestId('show-results').click();
  const results = page.getByTestId('send-results');
  await expect(results.getByTestId('results-cio')).toContainText(/Sent \d+ · delivered \d+/);
  await expect(results.getByTestId('results-ours')).toContainText('Recipients: 2');
  await screenshot(page, 'panel-send-results');
  // A phone: nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, 'panel-send-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.waitForTimeout(2000);
  const { triggers } = await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo');
  const ours = triggers.filter((t) => t.broadcast_id === 1 && String(t.data?.subject ?? '').includes(run) && !t.data?.test);
  expect(ours).toHaveLength(2);
  const people_ = await cioEmailsById(request);
  const recipients = (t: Trigger) => t.recipients.map((c) => people_.get(c)!.email).sort();
  const first = ours.find((t) => t.data.subject === `Your premium briefing ${run}`)!;
  const second = ours.find((t) => t.data.subject === `This week, free ${run}`)!;
  expect(first.broadcast_id).toBe(1);
  expect(recipients(first)).toEqual([email('pat'), email('pia')]);
  expect(recipients(second)).toEqual([email('bea')]);
  expect(first.data).toMatchObject({ variation: 'v1', cta_url: 'https://news.example.com/weekly' });
  expect(first.data.blocks).toEqual([{ kind: 'paragraph', text: 'The week in markets, first for premium readers.' }]);
  expect(second.data).toMatchObject({ variation: 'v2' });
});
