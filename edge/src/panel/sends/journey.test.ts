import { describe, expect, it } from 'vitest';
import { shardOf } from '#edge/readers/names.ts';
import { JOURNEY_STEP, OPS_PER_CALL, journeyOps, journeyStep } from './journey.ts';
import type { Recipient } from './recipients.ts';

const audience: Recipient[] = Array.from({ length: 260 }, (_, i) => ({ key: `e:j${i}@example.com`, idType: 'email', value: `j${i}@example.com` }));
const event = { sendKey: 'b1:draft:j1', eventName: 'newsletter_variation', data: { subject: 'Hello' }, timestamp: 1_700_000_000 };

describe('a journey send\'s fan-out', () => {
  it('gives each recipient one event, in its own shard, carrying the variation and the send', () => {
    let n = 0;
    const perShard = journeyOps(audience, event, 4, () => `id${n++}`);
    const all = [...perShard.entries()].flatMap(([shard, chunks]) => chunks.flat().map((op) => ({ shard, op })));
    expect(all).toHaveLength(audience.length);
    expect(new Set(all.map((x) => x.op.id)).size).toBe(audience.length);
    for (const { shard, op } of all) {
      const email = (op.identifiers as { email: string }).email;
      expect(shardOf(`e:${email}`, 4)).toBe(shard);
      expect(op).toMatchObject({ type: 'person', action: 'event', name: 'newsletter_variation', timestamp: 1_700_000_000, attributes: { subject: 'Hello', send: 'b1:draft:j1' } });
    }
  });

  it('hands each shard chunks of at most OPS_PER_CALL', () => {
    const perShard = journeyOps(audience, event, 2, () => 'x');
    for (const chunks of perShard.values()) {
      expect(chunks.every((c) => c.length > 0 && c.length <= OPS_PER_CALL)).toBe(true);
      expect(chunks.slice(0, -1).every((c) => c.length === OPS_PER_CALL)).toBe(true);
    }
  });

  it('addresses a reader by id when that is what the audience holds', () => {
    const perShard = journeyOps([{ key: 'u:1', idType: 'id', value: 'user-1' }], event, 1, () => 'x');
    expect(perShard.get(0)?.[0]?.[0]?.identifiers).toEqual({ id: 'user-1' });
  });
});

describe('a journey send\'s steps', () => {
  it('hand over JOURNEY_STEP recipients at a time, from where the last step stopped, to the end', () => {
    const many = Array.from({ length: JOURNEY_STEP * 2 + 5 }, (_, i) => i);
    const first = journeyStep(many, 0);
    expect(first).toMatchObject({ handedOver: JOURNEY_STEP, done: false });
    expect(first.recipients[0]).toBe(0);
    const second = journeyStep(many, first.handedOver);
    expect(second.recipients[0]).toBe(JOURNEY_STEP);
    expect(journeyStep(many, second.handedOver)).toEqual({ recipients: [2000, 2001, 2002, 2003, 2004], handedOver: many.length, done: true });
  });

  it('are one, done, for a small audience (or an empty one)', () => {
    expect(journeyStep([1, 2], 0)).toEqual({ recipients: [1, 2], handedOver: 2, done: true });
    expect(journeyStep([], 0)).toEqual({ recipients: [], handedOver: 0, done: true });
  });
});
