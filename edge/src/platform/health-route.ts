import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';

export const health = new Hono<AppEnv>();

health.get('/', (c) => c.json({ ok: true, service: 'sharpsend-edge' }));
