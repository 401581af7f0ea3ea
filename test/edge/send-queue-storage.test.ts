import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SendQueue } from '#edge/panel/sends/send-queue.ts';
import { sendQueueStub } from '#edge/platform/stubs.ts';

describe('the send queue\'s storage', () => {
  it('opens storage made before its migrations were counted (no _schema, no unclear_at) and keeps its sends', async () => {
    const stub = sendQueueStub(env, 'storage-before-migrations');
    await runInDurableObject(stub, async (_queue, state) => {
      const sql = state.storage.sql;
      // As v2 left it: the tables, a sent send, and no migration count.
      sql.exec('DROP TABLE _schema');
      sql.exec('DROP TABLE sends');
      sql.exec(`CREATE TABLE sends (key TEXT PRIMARY KEY, broadcast_id INTEGER NOT NULL, mode TEXT NOT NULL, event_name TEXT NOT NULL,
        variation TEXT NOT NULL, segment_name TEXT NOT NULL, audience TEXT NOT NULL, recipients INTEGER NOT NULL, status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, trigger_id INTEGER, error TEXT, ab_test TEXT,
        created_at INTEGER NOT NULL, sent_at INTEGER)`);
      sql.exec(`INSERT INTO sends (key, broadcast_id, mode, event_name, variation, segment_name, audience, recipients, status, attempts, trigger_id, created_at, sent_at)
        VALUES ('b1:draft-old:v1', 1, 'broadcast', 'sharpsend_send', ?, 'Premium', '[]', 2, 'sent', 1, 7, 1000, 2000)`,
        JSON.stringify({ id: 'v1', segmentId: 'seg', subject: 'Old', preheader: '', blocks: [], cta: null }));
      sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('workspace', 'storage-before-migrations')");

      const reopened = new SendQueue(state, env);
      expect(await reopened.list()).toEqual([expect.objectContaining({ key: 'b1:draft-old:v1', draftId: 'draft-old', status: 'sent', triggerId: 7, recipients: 2, sentAt: 2000 })]);
      const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('sends')").toArray().map((c) => c.name);
      expect(columns).toEqual(expect.arrayContaining(['unclear_at', 'handed_over']));
      expect(sql.exec<{ applied: number }>("SELECT applied FROM _schema").one().applied).toBe(7);
      // Opening it again runs nothing twice.
      new SendQueue(state, env);
      expect(await reopened.list()).toHaveLength(1);
    });
  });
});
