#!/usr/bin/env node
// The Worker bundle's gzip bytes against issue 14's target: under 100 KB gzip. `npm test` runs
// `node bench/worker-size.mjs` after `npm run build` (which leaves `wrangler deploy --dry-run`'s
// bundle in .wrangler/dry-run) and counts it as one check; `npm run bench:bundle` prints the same
// verdict for the bundle it builds. Exits 1 when the bundle is missing or over the target.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export const WORKER_GZIP_TARGET_KB = 100;

/** Raw and gzip (level 9) bytes of a bundle file. */
export function bundleBytes(file) {
  const bytes = readFileSync(file);
  return { raw: bytes.byteLength, gzip: gzipSync(bytes, { level: 9 }).byteLength };
}

/** One line: the gzip size beside the target, and whether it is within it. */
export function targetVerdict(gzipBytes) {
  const kb = gzipBytes / 1024;
  const spare = WORKER_GZIP_TARGET_KB - kb;
  return `${WORKER_GZIP_TARGET_KB} KB gzip target: ${spare >= 0 ? `ok (${spare.toFixed(1)} KB spare)` : `OVER by ${(-spare).toFixed(1)} KB`}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const file = process.argv[2] ?? '.wrangler/dry-run/index.js';
  let size;
  try {
    size = bundleBytes(file);
  } catch {
    console.error(`${file} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
  console.log(`Worker bundle ${file}: ${(size.raw / 1024).toFixed(1)} KB, ${(size.gzip / 1024).toFixed(1)} KB gzip; ${targetVerdict(size.gzip)}`);
  process.exit(size.gzip / 1024 <= WORKER_GZIP_TARGET_KB ? 0 : 1);
}
