#!/usr/bin/env node
// `npm run bench:size`: the widget's bytes on the wire, beside the budgets in the widget issue.
// Run after `npm run build:widget`. Exits 1 when a file is missing or over its gzip budget.
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

// The widget issue asks for 1,800 B (loader) and 8,000 B (UI chunk), the loader with every feature
// it has. It reached 1,800 by moving what is not the common path into on-demand chunks, not by
// dropping anything: sending by fetch and reading the answer (outbox replay, SPA-navigation and
// command sends, sign-up, click-grant redemption, the 4xx warning) is sharpsend-net.js, fetched
// the first time something needs it; a page that is read and left (beacon on pagehide) never loads
// it. Its budget is what it is plus a small margin. Every file the widget serves is listed here.
const files = [
  { file: 'dist/public/sharpsend.js', what: 'loader + tracker', budget: 1800 },
  { file: 'dist/public/sharpsend-ui.js', what: 'UI chunk incl. Preact', budget: 8000 },
  { file: 'dist/public/sharpsend-net.js', what: 'network chunk (fetch sends)', budget: 350 },
];

let failed = false;
const rows = [];
for (const { file, what, budget } of files) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch {
    console.error(`${file} is missing: run \`npm run build:widget\` first`);
    failed = true;
    continue;
  }
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const over = gzip > budget;
  failed ||= over;
  rows.push({ file, what, minified: bytes.length, gzip, brotli, 'gzip budget': budget, verdict: over ? `OVER by ${gzip - budget}` : `ok (${budget - gzip} spare)` });
}
console.table(rows);
process.exit(failed ? 1 : 0);
