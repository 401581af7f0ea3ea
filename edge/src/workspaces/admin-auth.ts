/** The admin API's guard and its workspace lookup, shared by every admin route file. */
import * as z from '#shared/zod.ts';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv, Env } from '#edge/env.ts';
import { workspaceIdSchema } from '#shared/protocol.ts';
import { ClientError, parseOr400 } from '#edge/platform/errors.ts';
import { bearerToken } from './secrets.ts';
import { sameString } from '#shared/crypto.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';

/** 401 without `Authorization: Bearer <ADMIN_SECRET>`, 403 with a wrong one (or none configured). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.header('authorization'), 'admin secret');
  if (!c.env.ADMIN_SECRET) throw new ClientError(403, 'The admin API is disabled: set the ADMIN_SECRET Worker secret');
  if (!sameString(token, c.env.ADMIN_SECRET)) throw new ClientError(403, 'Wrong admin secret');
  await next();
};


/** A workspace id from the path, or a 400 naming it. */
export function workspaceId(raw: string): string {
  return parseOr400(z.object({ id: workspaceIdSchema }), { id: raw }, 'workspace id').id;
}

/** The workspace named in the path, or a 404. */
export async function existingWorkspace(env: Env, rawId: string) {
  const id = workspaceId(rawId);
  const ws = await workspaceStub(env, id).edgeView();
  if (!ws) throw new ClientError(404, `Unknown workspace "${id}"`, [{ path: 'id', message: 'no such workspace' }]);
  return ws;
}
