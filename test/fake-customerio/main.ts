// CLI: `npx node test/fake-customerio/main.ts [--port 8790]` (or FAKE_CIO_PORT). Binds 127.0.0.1,
// prints its URL, stops on SIGINT/SIGTERM.

import { createFakeCustomerIo } from './server.ts';

function portFromArgs(argv: string[]): number {
  const i = argv.indexOf('--port');
  const raw = i >= 0 ? argv[i + 1] : process.env.FAKE_CIO_PORT;
  if (raw === undefined || raw === '') return 8790;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid port: ${raw}`);
    process.exit(2);
  }
  return port;
}

const fake = await createFakeCustomerIo({ port: portFromArgs(process.argv.slice(2)) });
console.log(`fake Customer.io listening on ${fake.url} (Track ${fake.url}/api/v1, App ${fake.url}/v1, control ${fake.url}/_fake/)`);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`fake Customer.io stopping (${signal})`);
  fake.close().then(() => process.exit(0));
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
