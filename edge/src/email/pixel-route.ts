/**
 * GET /o/{workspace}/{token}/{campaign}[/{delivery}].gif: the open pixel. The answer is the same
 * 43-byte GIF at once, whatever the token; checking and recording happen after (`waitUntil`), so
 * a newsletter burst never waits on a Durable Object and a forged URL learns nothing.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv, Env } from '#edge/env.ts';
import { classifyOpen, requestFacts } from '#shared/email/classify.ts';
import { afterResponse, recordHit } from './record.ts';
import { type WaitUntil, executionContext } from '#edge/platform/after-response.ts';

/** The smallest transparent GIF (43 bytes). */
export const PIXEL_GIF = Uint8Array.from(atob('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=='), (c) => c.charCodeAt(0));

const HEADERS = {
  'content-type': 'image/gif',
  'content-length': String(PIXEL_GIF.byteLength),
  'cache-control': 'no-store, no-cache, must-revalidate, private, max-age=0',
  expires: '0',
};

const SLUG = /^[A-Za-z0-9_-]{1,100}$/;
const WORKSPACE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The parts of a pixel path, or null when it cannot be ours (still answered with the GIF). */
export function parsePixelPath(path: string): { workspace: string; token: string; campaign?: string; delivery?: string } | null {
  const parts = path.replace(/^\/o\//, '').replace(/\.gif$/i, '').split('/');
  const [workspace, token, campaign, delivery] = parts;
  if (parts.length < 2 || parts.length > 4 || !workspace || !WORKSPACE.test(workspace)) return null;
  return {
    workspace,
    token: token ?? '',
    ...(campaign && SLUG.test(campaign) ? { campaign } : {}),
    ...(delivery && SLUG.test(delivery) ? { delivery } : {}),
  };
}

/**
 * A pixel hit: the GIF now, the recording after it. `path` as the router gives it (decoded).
 * The Worker's entry calls this before the router (the pixel is the busiest URL by far); the
 * route below serves what the entry leaves to the router (HEAD).
 */
export function pixelHit(request: Request, env: Env, ctx: WaitUntil | undefined, path: string): Response {
  const at = Date.now();
  const parsed = parsePixelPath(path);
  if (parsed) {
    const classification = classifyOpen(requestFacts(request));
    afterResponse(ctx, () => recordHit(env, { type: 'open', ...parsed, classification, at }));
  }
  return new Response(PIXEL_GIF, { status: 200, headers: HEADERS });
}

export const pixel = new Hono<AppEnv>();

pixel.get('/*', (c) => pixelHit(c.req.raw, c.env, executionContext(c), c.req.path));
