/**
 * An editor builds a segment from two tags and a score threshold, sees its count, adds one more
 * reader by email, and the fake Customer.io holds a manual segment with exactly those people.
 * Screenshots of the overview, readers, segment builder, segments and segment detail pages.
 */
import { expect, test } from '@playwright/test';
import { FAKE, type Person, fake, panelCall, run, screenshot, seedReaders, signIn, waitForDirectory } from './panel-helpers.ts';

const email = (who: string) => `seg-${who}-${run}@example.com`;
const people: Person[] = [
  { email: email('ann'), reads: 3, traits: { tier: 'premium', lifetime_value: 800, first_name: 'Ann' } },
  { email: email('bob'), userId: `bob-${run}`, reads: 3, traits: { tier: 'pro', lifetime_value: 1200, first_name: 'Bob' } },
  { email: email('cy'), reads: 0, traits: { tier: 'premium', lifetime_value: 700 } }, // both tags, no engagement
  { email: email('dee'), reads: 3, traits: { tier: 'basic', lifetime_value: 900 } }, // one of the two tags
  { email: email('eve'), reads: 1, traits: { tier: 'basic' } }, // added by hand
];

test('build a segment from two tags and a score threshold, add a reader by email, mirror it to Customer.io', async ({ page, request }) => {
  test.setTimeout(90_000);
  // The publisher's own (data-driven) segment in Customer.io, listed beside ours.
  const seeded = await request.post(`${FAKE}/_fake/segments`, { data: { workspace: 'demo', name: `Newsletter subscribers ${run}`, type: 'dynamic' } });
  expect(seeded.ok()).toBe(true);
  await seedReaders(request, people);
  await signIn(page);
  await waitForDirectory(page, people, `seg-`);

  await page.reload();
  await expect(page.getByTestId('stat-readers')).not.toHaveText('0');
  await expect(page.locator('svg[aria-label="Active readers per day"] rect.bar').first()).toBeAttached();
  await screenshot(page, 'panel-overview');

  await page.click('[data-nav=readers]');
  await page.getByTestId('reader-search').fill(`seg-ann-${run}`); // a prefix of the email: search uses the email index
  await page.getByRole('cell', { name: email('ann') }).click();
  await expect(page.getByTestId('reader-detail')).toContainText('Premium subscriber');
  await page.getByTestId('reader-search').fill('seg-');
  await expect(page.locator('.table tbody tr')).toHaveCount(5);
  await screenshot(page, 'panel-readers');

  await page.click('[data-nav=segments]');
  await page.getByTestId('new-segment').click();
  const builder = page.getByTestId('segment-builder');
  await builder.getByLabel('Name').fill(`Engaged premium ${run}`);
  const conditions = builder.getByTestId('condition');
  await conditions.nth(0).getByTestId('cond-tag').selectOption('premium_subscriber');
  await builder.getByTestId('add-condition').click();
  await conditions.nth(1).getByTestId('cond-tag').selectOption('high_value');
  await builder.getByTestId('add-condition').click();
  await conditions.nth(2).getByTestId('cond-kind').selectOption('score');
  await conditions.nth(2).getByTestId('cond-op').selectOption('gte');
  await conditions.nth(2).getByTestId('cond-value').fill('0.2');
  // Ann and Bob: both tags and read enough; Cy has the tags but no engagement, Dee only one tag.
  await expect(builder.getByTestId('live-count')).toContainText(/^2 of \d+ readers/);
  await screenshot(page, 'panel-segment-builder');
  await builder.getByTestId('save-segment').click();

  const row = page.getByRole('row', { name: new RegExp(`Engaged premium ${run}`) });
  await expect(row.getByTestId(`segment-count-Engaged premium ${run}`)).toHaveText('2');
  await expect(row).toContainText('tag premium_subscriber and tag high_value and score ≥ 0.2');
  await expect(row.getByTestId('mirror-ok')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByRole('row', { name: new RegExp(`Newsletter subscribers ${run}`) })).toContainText('dynamic');
  await screenshot(page, 'panel-segments');

  await row.click();
  await page.getByTestId('member-emails').fill(email('eve'));
  await page.getByTestId('add-members').click();
  await expect(page.getByRole('status')).toHaveText('Added 1 reader(s).');
  await expect(page.getByTestId('segment-detail-count')).toHaveText('3');
  await expect(page.getByTestId('members-table').locator('tbody tr')).toHaveCount(3);
  await expect(page.getByTestId('mirror-ok')).toContainText('3 in sync', { timeout: 20_000 });
  await screenshot(page, 'panel-segment-detail');

  const { segments } = await fake<{ segments: Array<{ name: string; type: string; members: Array<{ email: string; id: string | null }> }> }>(request, '/segments?workspace=demo');
  const mirrored = segments.filter((s) => s.name === `SharpSend: Engaged premium ${run}`);
  expect(mirrored).toHaveLength(1);
  expect(mirrored[0]!.type).toBe('manual');
  expect(mirrored[0]!.members.map((m) => m.email).sort()).toEqual([email('ann'), email('bob'), email('eve')].sort());
});

test('rename and change a segment with a live count, delete it with its Customer.io mirror; pages fit a phone', async ({ page, request }) => {
  test.setTimeout(90_000);
  const edit = (who: string) => `segedit-${who}-${run}@example.com`;
  const cohort = `segedit-${run}`;
  const readers: Person[] = [
    { email: edit('a'), reads: 1, traits: { tier: 'premium', cohort } },
    { email: edit('b'), reads: 1, traits: { tier: 'premium', cohort } },
    { email: edit('c'), reads: 1, traits: { tier: 'basic', cohort } },
  ];
  await seedReaders(request, readers);
  await signIn(page);
  await waitForDirectory(page, readers, 'segedit-');
  const made = await panelCall(page, 'POST', '/workspaces/demo/segments', { name: `Cohort ${run}`, rule: { fact: 'trait.cohort', op: 'eq', value: cohort } });
  expect(made.body.count).toBe(3);
  await page.goto(`/panel/#/segments/${made.body.id}`);
  await expect(page.getByTestId('segment-detail-count')).toHaveText('3');
  await expect(page.getByTestId('mirror-ok')).toContainText('3 in sync', { timeout: 20_000 });
  const cioId = (await panelCall(page, 'GET', `/workspaces/demo/segments/${made.body.id}`)).body.segment.cioSegmentId as number;

  // Rename and narrow it: the builder opens with the rule as it is, and counts while editing.
  await page.getByTestId('edit-segment').click();
  const builder = page.getByTestId('segment-builder');
  await expect(builder.getByTestId('cond-fact')).toHaveValue('trait.cohort');
  await builder.locator('input[name=segment-name]').fill(`Premium cohort ${run}`);
  await builder.getByTestId('add-condition').click();
  const second = builder.getByTestId('condition').nth(1);
  await second.getByTestId('cond-kind').selectOption('fact');
  await second.getByTestId('cond-fact').fill('trait.tier');
  await second.getByTestId('cond-value').fill('premium');
  await expect(builder.getByTestId('live-count')).toContainText('2 of');
  await screenshot(page, 'panel-segment-edit');
  await builder.getByTestId('save-segment').click();
  await expect(page.locator('h1')).toHaveText(`Premium cohort ${run}`);
  await expect(page.getByTestId('segment-detail-count')).toHaveText('2', { timeout: 20_000 });

  // A phone: the detail and the list fit 390 px.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, 'panel-segment-detail-phone');
  await page.goto('/panel/#/segments');
  await expect(page.getByTestId('segments-table')).toBeVisible();
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot(page, 'panel-segments-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  // Delete, after a confirmation: gone from the list, and its Customer.io mirror removed.
  await page.goto(`/panel/#/segments/${made.body.id}`);
  await page.getByTestId('delete-segment').click();
  await expect(page.getByTestId('delete-confirm')).toContainText(`#${cioId}`);
  await page.getByTestId('delete-confirm-button').click();
  await expect(page.getByTestId('segments-table')).not.toContainText(`Premium cohort ${run}`);
  await expect.poll(async () => {
    const { segments } = await fake<{ segments: Array<{ id: number }> }>(request, '/segments?workspace=demo');
    return segments.some((s) => s.id === cioId);
  }, { timeout: 30_000 }).toBe(false);
});
