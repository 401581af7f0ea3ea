// The floor every edge benchmark is compared with (DESIGN.md, "Scale and the runtime's limits"):
// the least a Worker that stores data can do. A route parses the request, makes ONE call to a
// per-reader SQLite Durable Object, and that object stores one row. Nothing else: no schema, no
// workspace, no tags, no outbox. Bench-only (bench/floor/wrangler.toml), never deployed.
//
// - POST /v1/events: parses the JSON batch, names the object after the first event's
//   `anonymousId`, awaits the call (ingest answers 202 once the events are stored) and answers JSON.
// - GET /o/{workspace}/{token}/…gif: parses the path, names the object after the token, answers
//   the GIF at once and stores in `waitUntil` (the pixel's contract: the answer never waits).
//   GET /o-await/… does the same but answers only after the row is stored, for comparison.
import { DurableObject } from 'cloudflare:workers';

interface Env { FLOOR: DurableObjectNamespace<FloorReader> }

export class FloorReader extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS reader (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL, version INTEGER NOT NULL)');
  }

  /** Stores one row; returns how many times it was written (so a caller can tell new from returning). */
  store(state: string): number {
    const row = this.sql.exec<{ version: number }>(
      'INSERT INTO reader (id, state, version) VALUES (1, ?, 1) ON CONFLICT (id) DO UPDATE SET state = excluded.state, version = version + 1 RETURNING version',
      state,
    ).one();
    return row.version;
  }
}

const GIF = Uint8Array.from(atob('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=='), (c) => c.charCodeAt(0));
const GIF_HEADERS = { 'content-type': 'image/gif', 'cache-control': 'no-store' };

const stub = (env: Env, name: string) => env.FLOOR.get(env.FLOOR.idFromName(name));

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'POST') {
      const batch = await request.json<{ workspace: string; events: { anonymousId: string; ts: number }[] }>();
      const first = batch.events[0]!;
      await stub(env, `${batch.workspace}|${first.anonymousId}`).store(JSON.stringify({ lastSeen: first.ts, events: batch.events.length }));
      return Response.json({ accepted: batch.events.length, duplicates: 0 }, { status: 202 });
    }
    const [, prefix, workspace, token] = url.pathname.split('/');
    if (!workspace || !token) return new Response(null, { status: 404 });
    const write = stub(env, `${workspace}|${token}`).store(JSON.stringify({ lastOpen: Date.now() }));
    if (prefix === 'o-await') await write;
    else ctx.waitUntil(write);
    return new Response(GIF, { headers: GIF_HEADERS });
  },
} satisfies ExportedHandler<Env>;
