// shared/zod.ts registers zod/mini's English messages; without it every issue would read
// "Invalid input" and a 4xx would name the field but not what is wrong with it.
import { describe, expect, it } from 'vitest';
import { eventBatchSchema } from './protocol.ts';
import { identifyCallSchema } from './server-api.ts';
import { workspaceInputSchema } from './workspace.ts';

const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  (r.error?.issues ?? []).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));

describe('schema messages (zod/mini with English)', () => {
  it('say what is wrong with each field, in words', () => {
    const r = eventBatchSchema.safeParse({
      workspace: '',
      events: [{ type: 'page', id: 'evt-00001', anonymousId: 'anon-0001', ts: 1.5, url: 'ftp://x.example', engagedMs: -1, scrollDepth: 2 }],
    });
    expect(issues(r)).toEqual([
      { path: 'workspace', message: 'Too small: expected string to have >=1 characters' },
      { path: 'workspace', message: 'must be lowercase letters, digits, "-" or "_"' },
      { path: 'events.0.ts', message: 'Invalid input: expected int, received number' },
      { path: 'events.0.url', message: 'Invalid URL' },
      { path: 'events.0.engagedMs', message: 'Too small: expected number to be >=0' },
      { path: 'events.0.scrollDepth', message: 'Too big: expected number to be <=1' },
    ]);
  });

  it('keep custom messages, unknown keys stripped and defaults filled', () => {
    expect(issues(identifyCallSchema.safeParse({ traits: { email: 'nope' } }))).toEqual([{ path: 'traits.email', message: 'must be an email address' }]);
    expect(issues(workspaceInputSchema.safeParse({ allowedOrigins: ['news.example.com'] }))[0]).toEqual({
      path: 'allowedOrigins.0', message: expect.stringMatching(/^must be an origin such as/),
    });
    const ok = workspaceInputSchema.parse({ allowedOrigins: ['https://News.Example.com'], extra: 1 });
    expect(ok).not.toHaveProperty('extra');
    expect(ok.allowedOrigins).toEqual(['https://news.example.com']);
    expect(ok.sync.shards).toBe(4);
    expect(ok.limits.trackPerSecond).toBe(100);
  });
});
