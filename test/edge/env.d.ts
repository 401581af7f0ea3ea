// Types for the workers tests: `env` from cloudflare:test is the Worker's own Env, and the fake
// Customer.io's URL is provided by test/support/fake-cio-global-setup.ts.
import type { Env as WorkerEnv } from '#edge/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    fakeCioUrl: string;
  }
}
