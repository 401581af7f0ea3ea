/**
 * Which page origins a workspace accepts (README "Allowed origins"). An entry is an exact origin,
 * `https://news.example.com`, or a subdomain wildcard, `https://*.example.com`, which matches any
 * subdomain at any depth (`a.example.com`, `a.b.example.com`) with that scheme and port, but not
 * `example.com` itself: list the apex separately when pages live there too. Pure.
 */

/** Scheme, host (optionally `*.` first) and port; nothing else. A trailing slash is tolerated. */
export const ORIGIN_PATTERN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?\/?$/;

/** `HTTPS://News.Example.com/` → `https://news.example.com`: how an origin is stored and compared. */
export function normalizeOrigin(entry: string): string {
  return entry.trim().replace(/\/+$/, '').toLowerCase();
}

export function originAllowed(origin: string | null | undefined, allowed: readonly string[]): boolean {
  if (!origin) return false;
  const candidate = normalizeOrigin(origin);
  for (const entry of allowed) {
    const pattern = normalizeOrigin(entry);
    if (pattern === candidate) return true;
    const star = pattern.indexOf('://*.');
    if (star < 0) continue;
    const scheme = pattern.slice(0, star + 3);
    const suffix = pattern.slice(star + 4); // ".example.com[:port]"
    if (!candidate.startsWith(scheme)) continue;
    const host = candidate.slice(scheme.length);
    if (host.endsWith(suffix) && host.length > suffix.length && !host.slice(0, -suffix.length).includes(':')) return true;
  }
  return false;
}
