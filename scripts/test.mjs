#!/usr/bin/env node
// `npm test`: every check, in the order that fails fastest — types, the build (widget, panel and
// `wrangler deploy --dry-run`), vitest (Node and workerd projects), then Playwright in Debian's
// Chromium. The widget's size budgets count as one check, the Worker bundle's size as another. Ends with one plain line, `N passed, N failed`, counting every test that ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
const results = { passed: 0, failed: 0 };
let stepFailed = false;

function run(what, cmd, args, env = {}) {
  console.log(`\n▶ ${what}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`✖ ${what} failed (exit ${r.status ?? r.signal})`);
    stepFailed = true;
  }
  return r.status === 0;
}

function ensureChromium() {
  if (existsSync(CHROMIUM)) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (root && hasApt) {
    console.log(`${CHROMIUM} is missing: installing Debian's chromium (about 110 MB)…`);
    const ok = run('apt-get update', 'apt-get', ['update', '-qq'])
      && run('apt-get install chromium', 'apt-get', ['install', '-y', '-qq', 'chromium'], { DEBIAN_FRONTEND: 'noninteractive' });
    if (ok && existsSync(CHROMIUM)) return true;
  }
  console.error(`\nThe browser tests need Debian's Chromium at ${CHROMIUM}. Install it with:\n  sudo apt-get update && sudo apt-get install -y chromium\n`);
  stepFailed = true;
  return false;
}

function readJson(path) {
  try { return JSON.parse(readFileSync(path, 'utf8')); } catch { return null; }
}

rmSync('test-results/vitest.json', { force: true });
rmSync('test-results/playwright.json', { force: true });
mkdirSync('test-results', { recursive: true });

const chromium = ensureChromium();
run('typecheck', 'npm', ['run', '--silent', 'typecheck']);
const built = run('build (widget, panel, wrangler deploy --dry-run)', 'npm', ['run', '--silent', 'build']);
// The size budgets are part of the product: a file over its budget fails the suite like a test.
if (built) {
  const withinBudget = run('size budgets (bench/size.mjs)', 'node', ['bench/size.mjs']);
  results[withinBudget ? 'passed' : 'failed'] += 1;
  // The Worker bundle the build just made, against issue 14's 100 KB gzip target.
  const workerWithin = run('Worker bundle size (bench/worker-size.mjs)', 'node', ['bench/worker-size.mjs', '.wrangler/dry-run/index.js']);
  results[workerWithin ? 'passed' : 'failed'] += 1;
}

run('vitest (Node and workerd)', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json']);
const vitest = readJson('test-results/vitest.json');
if (vitest) {
  results.passed += vitest.numPassedTests ?? 0;
  results.failed += vitest.numFailedTests ?? 0;
  if ((vitest.numFailedTestSuites ?? 0) > 0 && (vitest.numFailedTests ?? 0) === 0) results.failed += vitest.numFailedTestSuites;
} else {
  console.error('vitest wrote no report');
  stepFailed = true;
}

const specs = existsSync('test/browser') ? readdirSync('test/browser').filter((f) => f.endsWith('.spec.ts')) : [];
if (specs.length && chromium && built) {
  run('playwright (Debian Chromium)', 'npx', ['playwright', 'test'], { PLAYWRIGHT_JSON_OUTPUT_NAME: 'test-results/playwright.json' });
  const pw = readJson('test-results/playwright.json');
  if (pw?.stats) {
    results.passed += (pw.stats.expected ?? 0) + (pw.stats.flaky ?? 0);
    results.failed += pw.stats.unexpected ?? 0;
  } else {
    console.error('playwright wrote no report');
    stepFailed = true;
  }
} else if (specs.length) {
  console.error('Browser tests not run: ' + (!chromium ? 'Chromium is missing' : 'the build failed'));
  results.failed += specs.length;
}

console.log(`\n${results.passed} passed, ${results.failed} failed`);
process.exit(stepFailed || results.failed > 0 ? 1 : 0);
