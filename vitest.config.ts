import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-plugin';

/** Test-only stand-ins for the Worker secrets. */
export const TEST_ADMIN_SECRET = 'test-admin-secret';
const TEST_ENCRYPTION_KEY = 'dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU='; // 32 bytes, tests only

export default defineConfig({
  test: {
    projects: [
      {
        // Pure logic, the fake Customer.io and customerio-node from Node.
        test: {
          name: 'node',
          // Pure modules' unit tests sit beside them (never importing cloudflare:*).
          include: ['test/node/**/*.test.ts', 'edge/src/**/*.test.ts', 'shared/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // The Worker itself, inside workerd, talking to a real fake Customer.io over HTTP.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                CUSTOMERIO_BASE_URL: inject('fakeCioUrl'),
                ADMIN_SECRET: TEST_ADMIN_SECRET,
                CONFIG_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
                // Runs per property of test/edge/fuzz.test.ts (`npm run fuzz` sets a long run).
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/edge/**/*.test.ts'],
          globalSetup: ['test/support/fake-cio-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
