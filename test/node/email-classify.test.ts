import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAST_CLICK_MS, MACHINE_RULES, classifyClick, classifyOpen, type RequestFacts } from '#shared/email/classify.ts';
import { inCidr, parseCidr, parseIp } from '#shared/email/cidr.ts';

interface Fixture { name: string; method: string; ip: string; headers: Record<string, string>; expected: string; source?: string }
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/email-requests.json', import.meta.url), 'utf8')) as { opens: Fixture[]; clicks: Fixture[] };

function facts(f: Fixture): RequestFacts {
  const { 'user-agent': userAgent = '', ...rest } = f.headers;
  return { method: f.method, userAgent, ip: f.ip, headers: rest };
}

describe('open classification (recorded header fixtures)', () => {
  it.each(fixtures.opens.map((f) => [f.name, f] as const))('%s', (_, f) => {
    const result = classifyOpen(facts(f));
    expect(result.kind).toBe(f.expected);
    if (f.source) expect(result.source).toBe(f.source);
  });

  it('covers every listed machine source', () => {
    const sources = new Set(fixtures.opens.filter((f) => f.expected !== 'human').map((f) => classifyOpen(facts(f)).source));
    for (const source of ['apple', 'gmail', 'yahoo', 'outlook', 'scanner', 'browser']) expect(sources).toContain(source);
  });

  it('every rule says why it exists and is exercised by a fixture', () => {
    const used = new Set([...fixtures.opens, ...fixtures.clicks].map((f) => classifyOpen(facts(f)).rule));
    for (const rule of MACHINE_RULES) {
      expect(rule.why.length).toBeGreaterThan(10);
      expect(used, rule.id).toContain(rule.id);
    }
  });
});

describe('click classification', () => {
  it.each(fixtures.clicks.map((f) => [f.name, f] as const))('%s', (_, f) => {
    expect(classifyClick(facts(f), Date.now(), null).kind).toBe(f.expected);
  });

  it('takes a click seconds after the send for a scanner, a later one for a person', () => {
    const human: RequestFacts = { method: 'GET', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15', ip: '192.0.2.1', headers: {} };
    const sent = 1_800_000_000_000;
    expect(classifyClick(human, sent + 3_000, sent)).toMatchObject({ kind: 'scanner', rule: 'fast-click' });
    expect(classifyClick(human, sent + FAST_CLICK_MS + 1, sent).kind).toBe('human');
    expect(classifyClick(human, sent - 5_000, sent).kind).toBe('human'); // clocks disagree: no verdict from timing
  });
});

describe('CIDR matching', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses', () => {
    expect(inCidr(parseIp('17.1.2.3')!, parseCidr('17.0.0.0/8'))).toBe(true);
    expect(inCidr(parseIp('18.1.2.3')!, parseCidr('17.0.0.0/8'))).toBe(false);
    expect(inCidr(parseIp('40.93.255.255')!, parseCidr('40.92.0.0/15'))).toBe(true);
    expect(inCidr(parseIp('40.94.0.0')!, parseCidr('40.92.0.0/15'))).toBe(false);
    expect(inCidr(parseIp('::ffff:17.0.0.1')!, parseCidr('17.0.0.0/8'))).toBe(true);
    expect(inCidr(parseIp('2a01:111:f400:1::1')!, parseCidr('2a01:111:f400::/48'))).toBe(true);
    expect(inCidr(parseIp('2a01:111:f401::1')!, parseCidr('2a01:111:f400::/48'))).toBe(false);
    expect(inCidr(parseIp('17.0.0.1')!, parseCidr('2a01:111:f400::/48'))).toBe(false);
    for (const bad of ['', '1.2.3', '256.1.1.1', '1::2::3', 'x']) expect(parseIp(bad)).toBeNull();
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
  });
});

describe('user agents worked out once per isolate', () => {
  it('still reads each request\'s address, method and headers for the same user agent', () => {
    const ua = 'Mozilla/5.0 (compatible)';
    const base: RequestFacts = { method: 'GET', userAgent: ua, ip: '203.0.113.9', headers: {} };
    expect(classifyOpen(base).kind).toBe('human');
    expect(classifyOpen({ ...base, ip: '17.58.0.1' })).toMatchObject({ kind: 'apple_mpp', rule: 'apple-mpp-range' });
    expect(classifyOpen({ ...base, method: 'HEAD' }).kind).toBe('scanner');
    expect(classifyOpen({ ...base, headers: { 'sec-purpose': 'prefetch' } }).kind).toBe('prefetch');
    expect(classifyOpen(base).kind).toBe('human');
    // Past the bound, old user agents are worked out again, with the same answers.
    for (let i = 0; i < 1_100; i++) classifyOpen({ ...base, userAgent: `Mail/${i}` });
    expect(classifyOpen({ ...base, userAgent: 'curl/8.5.0' }).kind).toBe('scanner');
    expect(classifyOpen({ ...base, ip: '17.58.0.1' }).kind).toBe('apple_mpp');
  });
});
