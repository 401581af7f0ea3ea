/** Panel access: nothing without a session (401, unknown paths included), nothing of another workspace (403). */
import { expect, test } from '@playwright/test';
import { EDGE, panelCall, screenshot, signIn } from './panel-helpers.ts';

test('without a session every panel call is 401; the sign-in page refuses a wrong key', async ({ page, request }) => {
  for (const [method, path] of [
    ['GET', '/workspaces/demo/overview'], ['GET', '/workspaces/demo/readers?q='], ['GET', '/workspaces/demo/segments'],
    ['POST', '/workspaces/demo/segments'], ['POST', '/workspaces/demo/sends'], ['GET', '/workspaces/demo/ab-tests'],
    ['GET', '/session'], ['GET', '/anything/else'], ['DELETE', '/workspaces/demo/segments/1'],
  ] as const) {
    const res = await request.fetch(`${EDGE}/v1/panel${path}`, { method, data: method === 'GET' ? undefined : {} });
    expect(res.status(), `${method} ${path}`).toBe(401);
  }
  await page.goto('/panel/');
  await expect(page.getByRole('heading', { name: "Editors' panel" })).toBeVisible();
  await screenshot(page, 'panel-login');
  await page.getByLabel('Editor key').fill('not-the-editor-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Wrong workspace or editor key');
});

test("with another workspace's session every call on demo's data is 403", async ({ page, request }) => {
  const other = `other${Date.now().toString(36)}`;
  const res = await request.put(`${EDGE}/v1/admin/workspaces/${other}`, {
    headers: { authorization: 'Bearer dev-admin-secret' },
    data: { allowedOrigins: [EDGE], customerio: { siteId: 'other_site', trackKey: 'other_track_key', appKey: 'other_app_key' }, editorKey: 'other-editor-key-123' },
  });
  expect(res.status()).toBe(201);
  await signIn(page, other, 'other-editor-key-123');
  for (const [method, path] of [
    ['GET', '/workspaces/demo/overview'], ['GET', '/workspaces/demo/segments'], ['POST', '/workspaces/demo/segments'],
    ['GET', '/workspaces/demo/readers?q='], ['POST', '/workspaces/demo/sends'], ['GET', '/workspaces/demo/sends'],
  ] as const) {
    const r = await panelCall(page, method, path, method === 'POST' ? { name: 'x', rule: null } : undefined);
    expect(r.status, `${method} ${path}`).toBe(403);
  }
  expect((await panelCall(page, 'GET', `/workspaces/${other}/segments`)).status).toBe(200);
  // The cookie is HttpOnly: the page's script cannot read the session.
  expect(await page.evaluate(() => document.cookie)).not.toContain('ss_panel');
});
