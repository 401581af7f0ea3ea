/**
 * An A/B test splits a segment exactly into two arms, sends each its full content, reads our human
 * opens of the test's own email only (the signed pixel with the test's broadcast as campaign, as a
 * mail client loads it; an unrelated campaign's pixel does not count), warns that 24 readers are
 * too few before deciding, picks the arm with more, and sends the winner to the rest.
 */
import { expect, test } from '@playwright/test';
import { EDGE, cioEmailsById, fake, panelCall, run, screenshot, seedReaders, signIn, waitForDirectory } from './panel-helpers.ts';

const cohort = `ab-${run}`;
const people = Array.from({ length: 24 }, (_, i) => ({ email: `ab-${i}-${run}@example.com`, reads: 1, traits: { tier: 'basic', cohort } }));
const DESKTOP_CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Trigger { id: number; broadcast_id: number; recipients: string[]; data: Record<string, any> }

test('an A/B test picks the arm with more human opens and sends the winner to the rest', async ({ page, request }) => {
  test.setTimeout(150_000);
  await seedReaders(request, people);
  await signIn(page);
  await waitForDirectory(page, people, `ab-`);
  const segment = await panelCall(page, 'POST', '/workspaces/demo/segments', { name: `AB cohort ${run}`, rule: { fact: 'trait.cohort', op: 'eq', value: cohort } });
  expect(segment.body.count).toBe(24);

  await page.click('[data-nav=ab]');
  const form = page.getByTestId('new-ab-test');
  await form.getByTestId('ab-name').fill(`Subject line ${run}`);
  await form.getByTestId('ab-segment').selectOption({ label: `AB cohort ${run} (24)` });
  await form.getByTestId('ab-broadcast').selectOption({ label: 'Breaking news' });
  await form.getByTestId('ab-share').fill('60');
  await form.getByTestId('ab-arm-0').fill(`Markets today ${run}`);
  await form.getByTestId('ab-arm-0-preheader').fill('The open, the close');
  await form.getByTestId('ab-arm-0-body').fill('Stocks rose.\n\nBonds fell.');
  await form.getByTestId('ab-arm-0-link').fill('https://news.example.com/a');
  await form.getByTestId('ab-arm-1').fill(`What moved the markets ${run}`);
  await form.getByTestId('ab-arm-1-body').fill('Three things moved markets.');
  await form.getByTestId('ab-arm-1-link').fill('https://news.example.com/b');
  await screenshot(page, 'panel-ab-new');
  await form.getByTestId('ab-start').dblclick();

  const card = page.getByTestId('ab-test').filter({ hasText: `Subject line ${run}` });
  await expect(card).toHaveCount(1);
  // Both arms go out, the second 10 s after the first (one trigger per broadcast per 10 s).
  await expect(card.getByTestId('send-status')).toHaveText([/sent/, /sent/], { timeout: 40_000 });

  // Arm B's readers open the email in a mail client that loads images; one arm A reader's copy is fetched by a scanner.
  const { triggers } = await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo');
  const armTrigger = (arm: string) => triggers.find((t) => t.data?.variation === arm && String(t.data?.subject).includes(run))!;
  const people_ = await cioEmailsById(request);
  const token = (cio: string) => String(people_.get(cio)!.attributes.sharpsend_ptoken);
  const armB = armTrigger('b').recipients;
  const armA = armTrigger('a').recipients;
  // An exact split: 60 % of 24 is 14, as 7 and 7.
  expect([armA.length, armB.length]).toEqual([7, 7]);
  expect(armTrigger('a').data).toMatchObject({ preheader: 'The open, the close', cta_url: 'https://news.example.com/a',
    blocks: [{ kind: 'paragraph', text: 'Stocks rose.' }, { kind: 'paragraph', text: 'Bonds fell.' }] });
  expect(armTrigger('b').data).toMatchObject({ cta_url: 'https://news.example.com/b', blocks: [{ kind: 'paragraph', text: 'Three things moved markets.' }] });
  // Arm A's readers open an unrelated campaign's email: not the test's.
  for (const cio of armA.slice(0, 3)) await request.get(`${EDGE}/o/demo/${token(cio)}/777.gif`, { headers: { 'user-agent': DESKTOP_CHROME } });
  for (const cio of armB) {
    const res = await request.get(`${EDGE}/o/demo/${token(cio)}/2.gif`, { headers: { 'user-agent': DESKTOP_CHROME } });
    expect(res.headers()['content-type']).toBe('image/gif');
  }
  await request.get(`${EDGE}/o/demo/${token(armA[0]!)}/2.gif`, { headers: { 'user-agent': 'python-requests/2.31' } });

  await expect(card.locator('.hbar').first()).toContainText(`(0/${armA.length})`, { timeout: 30_000 });
  await expect(card.locator('.hbar').nth(1)).toContainText(`(${armB.length}/${armB.length})`, { timeout: 30_000 });
  await screenshot(page, 'panel-ab-results');

  await expect(card.getByTestId('ab-arm-row').nth(1)).toContainText(`What moved the markets ${run}`);
  await expect(card.getByTestId('ab-confidence').nth(1)).toHaveText(/\d+\.\d%/);
  await expect(card.getByTestId('ab-warning')).toContainText('fewer than 100');
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, 'panel-ab-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Too little data: the panel asks before deciding.
  await card.getByTestId('ab-decide').click();
  await expect(card.getByTestId('ab-confirm')).toBeVisible();
  await screenshot(page, 'panel-ab-confirm');
  await card.getByTestId('ab-decide-anyway').click();
  await expect(card.getByTestId('ab-status')).toHaveText('winner: arm B');
  const rest = 24 - armA.length - armB.length;
  await expect(card.getByTestId('ab-rest')).toHaveText(String(rest));
  await expect(card.getByTestId('send-status')).toHaveText([/sent/, /sent/, /sent/], { timeout: 40_000 });
  await screenshot(page, 'panel-ab-decided');

  const after = (await fake<{ triggers: Trigger[] }>(request, '/broadcasts/triggers?workspace=demo')).triggers.filter((t) => String(t.data?.subject).includes(run));
  expect(after).toHaveLength(3);
  const winnerSend = after.find((t) => t.id !== armTrigger('a').id && t.id !== armTrigger('b').id)!;
  expect(winnerSend.data).toMatchObject({ variation: 'b', subject: `What moved the markets ${run}` });
  expect(winnerSend.recipients).toHaveLength(rest);
  const tested = new Set([...armA, ...armB]);
  expect(winnerSend.recipients.every((c) => !tested.has(c))).toBe(true);
});
