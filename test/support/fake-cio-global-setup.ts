// Starts one fake Customer.io for the workers project; its port reaches the Worker's bindings
// through vitest's provide/inject. Workers test files run one at a time and reset it as they need.
import { mkdirSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { createFakeCustomerIo } from '../fake-customerio/server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    fakeCioUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // wrangler.toml serves dist/public as assets; tests must not depend on a widget build.
  mkdirSync('dist/public', { recursive: true });
  const fake = await createFakeCustomerIo({ port: 0 });
  project.provide('fakeCioUrl', fake.url);
  return async () => {
    await fake.close();
  };
}
