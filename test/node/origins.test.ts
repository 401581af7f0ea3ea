import { describe, expect, it } from 'vitest';
import { normalizeOrigin, originAllowed } from '../../shared/origins.ts';
import { workspaceInputSchema } from '../../shared/workspace.ts';

describe('allowed origins', () => {
  it('matches exact origins case-insensitively and ignores a trailing slash', () => {
    expect(originAllowed('https://News.Example.com', ['https://news.example.com/'])).toBe(true);
    expect(originAllowed('https://news.example.com', ['https://blog.example.com'])).toBe(false);
    expect(originAllowed('http://news.example.com', ['https://news.example.com'])).toBe(false);
    expect(originAllowed(null, ['https://news.example.com'])).toBe(false);
  });

  it('a *. entry matches subdomains at any depth, same scheme and port, never the apex or a look-alike', () => {
    const allowed = ['https://*.example.com'];
    expect(originAllowed('https://a.example.com', allowed)).toBe(true);
    expect(originAllowed('https://a.b.example.com', allowed)).toBe(true);
    expect(originAllowed('https://example.com', allowed)).toBe(false);
    expect(originAllowed('https://evilexample.com', allowed)).toBe(false);
    expect(originAllowed('https://a.example.com.evil.net', allowed)).toBe(false);
    expect(originAllowed('http://a.example.com', allowed)).toBe(false);
    expect(originAllowed('https://a.example.com:8443', allowed)).toBe(false);
    expect(originAllowed('https://a.example.com:8443', ['https://*.example.com:8443'])).toBe(true);
  });

  it('the workspace schema stores origins normalised and names a bad entry', () => {
    const ok = workspaceInputSchema.safeParse({ allowedOrigins: ['https://News.example.com/', 'https://*.example.org'] });
    expect(ok.success && ok.data.allowedOrigins).toEqual(['https://news.example.com', 'https://*.example.org']);
    const bad = workspaceInputSchema.safeParse({ allowedOrigins: ['https://news.example.com/path', 'https://*'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['allowedOrigins.0', 'allowedOrigins.1']);
    expect(normalizeOrigin(' HTTPS://A.B/ ')).toBe('https://a.b');
  });
});
