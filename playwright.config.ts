import { defineConfig } from '@playwright/test';
import { rmSync } from 'node:fs';

/**
 * Browser tests run Debian's Chromium against the product as `npm start` runs it (the Worker in
 * workerd, the fake Customer.io), on their own ports and state folder so a running demo is untouched.
 */
// Overridable so two runs on one machine (a demo, a CI check) do not collide.
export const EDGE_PORT = Number(process.env.SHARPSEND_TEST_PORT ?? 8887);
export const FAKE_CIO_PORT = Number(process.env.SHARPSEND_TEST_FAKE_PORT ?? 8890);
const stateDir = '.wrangler/test-state';
// Test workers load this file too, while the Worker is running on this state: only the runner clears it.
if (!process.env.TEST_WORKER_INDEX) rmSync(stateDir, { recursive: true, force: true });

export default defineConfig({
  testDir: 'test/browser',
  // Generous: CI machines have 2 cores shared by workerd, the fake and Chromium.
  timeout: 120_000,
  workers: 1,
  fullyParallel: false,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : 'list',
  use: {
    baseURL: `http://127.0.0.1:${EDGE_PORT}`,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
    screenshot: 'only-on-failure',
    // No single click or fill may eat the whole test budget.
    actionTimeout: 15_000,
  },
  webServer: {
    command: 'node scripts/start.mjs',
    // Ready once the demo workspace exists, not merely when the Worker answers.
    wait: { stdout: /SharpSend edge is running/ },
    stdout: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    reuseExistingServer: false,
    timeout: 120_000,
    env: {
      SHARPSEND_PORT: String(EDGE_PORT),
      FAKE_CIO_PORT: String(FAKE_CIO_PORT),
      SHARPSEND_STATE_DIR: stateDir,
      SHARPSEND_SKIP_BUILD: '1',
      SHARPSEND_QUIET: '1',
    },
  },
});
