/**
 * GET /v1/local/demo: what the demo page needs to link to the fake Customer.io it runs beside.
 * Only a local stack answers: the fake's address is the Worker's CUSTOMERIO_BASE_URL, and that is
 * set only when Customer.io is replaced by a server on this machine (`npm start`, the tests).
 * Everywhere else (production: empty) it is a 404, so nothing about a deployment shows.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/;

export const localDemo = new Hono<AppEnv>();

localDemo.get('/', (c) => {
  const base = c.env.CUSTOMERIO_BASE_URL ?? '';
  if (!LOOPBACK.test(base)) return c.json({ error: 'Only a local stack (npm start) has a demo configuration', issues: [] }, 404);
  return c.json({ fakeCustomerIo: base.replace(/\/+$/, '') });
});
