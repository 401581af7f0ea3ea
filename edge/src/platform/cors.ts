/** CORS for the public ingest: an allowed origin is echoed back, nothing is ever `*`. */

/** The page's origin: the Origin header, or the Referer's origin where a browser left Origin out. */
export function requestOrigin(request: Request): string | null {
  const origin = request.headers.get('origin');
  if (origin && origin !== 'null') return origin;
  const referer = request.headers.get('referer');
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

export function corsHeaders(origin: string | null, preflight: boolean): Record<string, string> {
  if (!origin) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': origin, vary: 'Origin' };
  if (preflight) {
    headers['access-control-allow-methods'] = 'POST, OPTIONS';
    headers['access-control-allow-headers'] = 'content-type';
    headers['access-control-max-age'] = '86400';
  }
  return headers;
}
