/**
 * Who loaded the pixel or followed the link: a person, or a machine acting for one. The rules are
 * data (first match wins), each with the reason it exists; README "Machine opens" lists them and
 * test/fixtures/email-requests.json holds real user-agent strings and addresses they are tested with.
 *
 * - Apple Mail Privacy Protection fetches every image of every message through Apple's relays as
 *   soon as it arrives, with a bare `Mozilla/5.0` user agent: an open that tells nothing.
 * - Gmail, Yahoo and Outlook.com fetch images through their own proxies (Gmail's says
 *   `GoogleImageProxy`, Yahoo's `YahooMailProxy`; Outlook.com's comes from Microsoft's published
 *   Exchange Online ranges). The fetch is usually caused by a real open, but only the first one
 *   is seen (the proxy caches) and some are pre-fetches: counted apart, as `image_proxy`.
 * - Security scanners (Barracuda, Mimecast, Proofpoint, Safe Links…) fetch and follow everything,
 *   often within seconds of delivery, and send HEAD requests; so do scripts and headless browsers.
 * - Browsers announce speculative loads with `Sec-Purpose`/`Purpose: prefetch`.
 * Human opens feed the engagement score and tags; machine opens are counted apart by kind.
 */
import { type Cidr, inCidr, parseCidr, parseIp } from './cidr.ts';
import { BoundedMap } from '../bounded-map.ts';

export type MachineKind = 'apple_mpp' | 'image_proxy' | 'scanner' | 'prefetch';
export type OpenKind = 'human' | MachineKind;

export interface MachineRule {
  id: string;
  kind: MachineKind;
  /** The kind when the same rule matches a click (a proxy range that follows links is a scanner). */
  clickKind?: MachineKind;
  source: string;
  why: string;
  /** Every condition given must hold. */
  method?: string;
  uaExact?: string;
  ua?: RegExp;
  ranges?: string[];
  header?: { names: string[]; pattern: RegExp };
}

/** Microsoft's published Exchange Online Protection ranges (Outlook.com / Microsoft 365 mail flow). */
export const MICROSOFT_EOP_RANGES = ['40.92.0.0/15', '40.107.0.0/16', '52.100.0.0/14', '104.47.0.0/17', '2a01:111:f400::/48', '2a01:111:f403::/48'];
/** Apple owns 17.0.0.0/8 outright; MPP fetches also leave through it. */
export const APPLE_RANGES = ['17.0.0.0/8'];

const SCANNER_UA = new RegExp([
  'barracuda', 'mimecast', 'proofpoint', 'messagelabs', 'symantec', 'ironport', 'trend ?micro', 'sophos', 'forcepoint',
  'fireeye', 'trustwave', 'safelinks', 'bitdefender', 'zscaler', 'check ?point', 'cisco', 'hubspot connect', 'amazon cloudfront',
  'headlesschrome', 'phantomjs', 'python-requests', 'python-urllib', 'aiohttp', 'go-http-client', 'ahc/', 'curl/', 'wget',
  'libwww', 'okhttp', 'java/', 'scrapy', '\\bbot\\b', 'crawler', 'spider', 'scanner',
].join('|'), 'i');

export const MACHINE_RULES: MachineRule[] = [
  { id: 'head-request', kind: 'scanner', source: 'scanner', method: 'HEAD', why: 'People never send HEAD: link checkers and scanners do' },
  { id: 'prefetch-header', kind: 'prefetch', source: 'browser', header: { names: ['sec-purpose', 'purpose', 'x-purpose', 'x-moz'], pattern: /prefetch|preview|prerender/i },
    why: 'The browser says the load is speculative' },
  { id: 'apple-mpp', kind: 'apple_mpp', clickKind: 'scanner', source: 'apple', uaExact: 'Mozilla/5.0',
    why: 'Apple Mail Privacy Protection fetches with a bare "Mozilla/5.0" user agent' },
  { id: 'apple-mpp-range', kind: 'apple_mpp', clickKind: 'scanner', source: 'apple', ranges: APPLE_RANGES, ua: /^(?:$|Mozilla\/5\.0$|Mozilla\/5\.0 \(compatible\))/,
    why: 'An Apple address with no browser details is Apple\'s relay, not a person' },
  { id: 'gmail-proxy', kind: 'image_proxy', clickKind: 'scanner', source: 'gmail', ua: /GoogleImageProxy/,
    why: 'Gmail loads images through its caching proxy ("via ggpht.com GoogleImageProxy")' },
  { id: 'yahoo-proxy', kind: 'image_proxy', clickKind: 'scanner', source: 'yahoo', ua: /YahooMailProxy/,
    why: 'Yahoo Mail loads images through its proxy ("YahooMailProxy")' },
  { id: 'outlook-proxy', kind: 'image_proxy', clickKind: 'scanner', source: 'outlook', ranges: MICROSOFT_EOP_RANGES,
    why: 'Outlook.com / Microsoft 365 fetch from Exchange Online ranges (image proxy; Safe Links for links)' },
  { id: 'scanner-ua', kind: 'scanner', source: 'scanner', ua: SCANNER_UA, why: 'A security scanner, script or headless browser names itself' },
  { id: 'no-ua', kind: 'scanner', source: 'scanner', uaExact: '', why: 'Mail clients and browsers always send a user agent' },
];

/** A click this soon after the email was sent is a scanner's, not a reader's. */
export const FAST_CLICK_MS = 10_000;

export interface RequestFacts {
  method: string;
  userAgent: string;
  ip: string | null;
  /** Lower-cased header names. */
  headers: Record<string, string>;
}

export interface Classification { kind: OpenKind; rule: string | null; source: string }

const compiled = new WeakMap<MachineRule, Cidr[]>();
const rangesOf = (rule: MachineRule) => {
  let list = compiled.get(rule);
  if (!list) compiled.set(rule, (list = (rule.ranges ?? []).map(parseCidr)));
  return list;
};

const uaMatches = (rule: MachineRule, userAgent: string): boolean =>
  (rule.uaExact === undefined || userAgent.trim() === rule.uaExact) && (!rule.ua || rule.ua.test(userAgent));

/**
 * For each of the built-in rules, whether a user agent meets its user-agent conditions. A burst's
 * hits share a few hundred user agents, and the scanner pattern is long: each is worked out once
 * per isolate. Bounded (the oldest go first); an unusually long user agent is not kept.
 */
const uaVerdicts = new BoundedMap<string, readonly boolean[]>(1_000);

function uaAllows(rules: readonly MachineRule[], userAgent: string): readonly boolean[] {
  if (rules !== MACHINE_RULES || userAgent.length > 512) return rules.map((rule) => uaMatches(rule, userAgent));
  let verdicts = uaVerdicts.get(userAgent);
  if (!verdicts) {
    verdicts = rules.map((rule) => uaMatches(rule, userAgent));
    uaVerdicts.set(userAgent, verdicts);
  }
  return verdicts;
}

function matches(rule: MachineRule, req: RequestFacts, uaOk: boolean): boolean {
  if (rule.method !== undefined && req.method.toUpperCase() !== rule.method) return false;
  if (!uaOk) return false;
  if (rule.header && !rule.header.names.some((name) => rule.header!.pattern.test(req.headers[name] ?? ''))) return false;
  if (rule.ranges) {
    const ip = req.ip ? parseIp(req.ip) : null;
    if (!ip || !rangesOf(rule).some((r) => inCidr(ip, r))) return false;
  }
  return true;
}

/** The first rule the request meets (first match wins), or null. */
function firstMatch(req: RequestFacts, rules: readonly MachineRule[]): MachineRule | null {
  const ua = uaAllows(rules, req.userAgent);
  return rules.find((rule, i) => matches(rule, req, ua[i]!)) ?? null;
}

export function classifyOpen(req: RequestFacts, rules: readonly MachineRule[] = MACHINE_RULES): Classification {
  const rule = firstMatch(req, rules);
  return rule ? { kind: rule.kind, rule: rule.id, source: rule.source } : { kind: 'human', rule: null, source: 'person' };
}

/** `sentAt` (ms) comes from the link itself when the template stamps it; unknown means no timing rule. */
export function classifyClick(req: RequestFacts, now: number, sentAt: number | null, rules: readonly MachineRule[] = MACHINE_RULES): Classification {
  const rule = firstMatch(req, rules);
  if (rule) return { kind: rule.clickKind ?? rule.kind, rule: rule.id, source: rule.source };
  if (sentAt !== null && now >= sentAt && now - sentAt < FAST_CLICK_MS) return { kind: 'scanner', rule: 'fast-click', source: 'scanner' };
  return { kind: 'human', rule: null, source: 'person' };
}

/** The facts the rules read, from a Request (Cloudflare puts the client address in CF-Connecting-IP). */
export function requestFacts(request: Request): RequestFacts {
  const headers: Record<string, string> = {};
  for (const name of ['sec-purpose', 'purpose', 'x-purpose', 'x-moz']) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return {
    method: request.method,
    userAgent: request.headers.get('user-agent') ?? '',
    ip: request.headers.get('cf-connecting-ip') ?? request.headers.get('x-real-ip'),
    headers,
  };
}
