/**
 * The editor triggers a broadcast with two variations for two segments; the fake Customer.io holds
 * exactly two triggers with the right recipients and data, even after a double click and a reload.
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
  await fill(0, `Premium ${run} (2)`, `Your premium briefing ${run}`, 'Hello {{ customer.first_name | default: "reader" }},\n\nThe week in markets, first for premium readers.');
  await page.getByTestId('add-variation').click();
  await fill(1, `Free tier ${run} (1)`, `This week, free ${run}`, 'Hi {{ customer.first_name }},\n\nThe highlights, and what premium readers got.');
  await expect(page.getByTestId('audience-total')).toHaveText('3');
  await expect(variations.nth(0).getByTestId('preview')).toContainText(/Hello (Pia|Pat),/);
  await screenshot(page, 'panel-send-compose');

  // A double click, then a reload with the saved draft and another click.
  await page.getByTestId('send-button').dblclick();
  await expect(variations.nth(0).getByTestId('send-status')).toContainText('sent', { timeout: 20_000 });
  await page.reload();
  await expect(variations.nth(1).getByTestId('variation-subject')).toHaveValue(`This week, free ${run}`);
  await page.getByTestId('send-button').click({ force: true });
  // Customer.io takes one trigger per broadcast per 10 s: the second variation follows.
  await expect(variations.nth(1).getByTestId('send-status')).toContainText('sent', { timeout: 30_000 });
  await expect(page.getByTestId('send-button')).toHaveText('Sent ✓');
  await screenshot(page, 'panel-send-sent');

  await page.waitForTimeout(2000);
  const { triggers } = await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo');
  const ours = triggers.filter((t) => t.broadcast_id === 1 && String(t.data?.subject ?? '').includes(run));
  expect(ours).toHaveLength(2);
  const people_ = await cioEmailsById(request);
  const recipients = (t: Trigger) => t.recipients.map((c) => people_.get(c)!.email).sort();
  const first = ours.find((t) => t.data.subject === `Your premium briefing ${run}`)!;
  const second = ours.find((t) => t.data.subject === `This week, free ${run}`)!;
  expect(first.broadcast_id).toBe(1);
  expect(recipients(first)).toEqual([email('pat'), email('pia')]);
  expect(recipients(second)).toEqual([email('bea')]);
  expect(first.data).toMatchObject({ variation: 'v1', cta_url: 'https://news.example.com/weekly' });
  expect(first.data.blocks[1].text).toBe('The week in markets, first for premium readers.');
  expect(second.data).toMatchObject({ variation: 'v2' });
});
