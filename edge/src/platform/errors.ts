/**
 * Every client error the edge answers has one shape, `{ error, issues: [{ path, message }] }`,
 * so a publisher sees which field is wrong. `ClientError` is thrown anywhere and rendered by
 * `errorResponse` (the app's error handler, and the routes that skip the router); anything else
 * is a bug and becomes a 500 without details.
 */
import type * as z from '#shared/zod.ts';
import type { ErrorBody, ErrorIssue } from '#shared/protocol.ts';
import { requestOrigin } from './cors.ts';

export class ClientError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429,
    message: string,
    readonly issues: ErrorIssue[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: this.message, issues: this.issues };
  }
}

export function issuesFrom(error: z.core.$ZodError, prefix = ''): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    message: issue.message,
  }));
}

/** The answer to an error a route threw: a ClientError's own 4xx, anything else a 500 (logged). */
export function errorResponse(error: unknown, request: Request, path: string): Response {
  if (error instanceof ClientError) {
    const headers: Record<string, string> = { ...error.headers };
    // The widget may read why its batch was refused; the message holds nothing secret.
    const origin = requestOrigin(request);
    if (origin && path.startsWith('/v1/events')) headers['access-control-allow-origin'] = origin;
    return Response.json(error.body(), { status: error.status, headers });
  }
  // A bug, not the client's doing: log it, answer without internals.
  console.error(`${request.method} ${path} failed:`, error);
  return Response.json({ error: 'Internal error', issues: [] }, { status: 500 });
}

/** Parses with a schema or throws a 400 naming each bad field. */
export function parseOr400<S extends z.ZodMiniType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ClientError(400, `Invalid ${what}`, issuesFrom(result.error));
  return result.data;
}

/** Reads a JSON body (whatever the content type: beacons send text/plain) within a size limit. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new ClientError(413, `Body is larger than ${maxBytes} bytes`);
  const text = await request.text();
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a body that could be near the limit is
  // encoded to count its bytes (the hot path's batches are far below it).
  if (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes) {
    throw new ClientError(413, `Body is larger than ${maxBytes} bytes`);
  }
  if (!text.trim()) throw new ClientError(400, 'Body is empty', [{ path: '(body)', message: 'expected a JSON object' }]);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ClientError(400, 'Body is not valid JSON', [{ path: '(body)', message: (e as Error).message }]);
  }
}
