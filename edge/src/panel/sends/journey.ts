/**
 * A journey send fans out as one Customer.io event per recipient, queued in the recipient's outbox
 * shard (its throttle, its retries), in chunks small enough for one shard call each. A large
 * audience goes in steps of JOURNEY_STEP recipients, each recorded as handed over before the next,
 * so one step of the alarm does bounded work and a crash repeats at most one step. Pure: the shard
 * count, the time and the id maker are parameters.
 */
import type { V2Operation } from '#edge/customerio/batch.ts';
import { shardOf } from '#edge/readers/names.ts';
import type { Recipient } from './recipients.ts';

/** Operations handed to a shard per call. */
export const OPS_PER_CALL = 50;

/** Recipients handed over per step (at most 20 shard calls). */
export const JOURNEY_STEP = 1_000;

/** The recipients of the next step, after `handedOver` of them went before; `done` once this step is the last. */
export function journeyStep<T>(audience: readonly T[], handedOver: number): { recipients: T[]; handedOver: number; done: boolean } {
  const recipients = audience.slice(handedOver, handedOver + JOURNEY_STEP);
  const next = handedOver + recipients.length;
  return { recipients, handedOver: next, done: next >= audience.length };
}

export interface JourneyEvent { sendKey: string; eventName: string; data: Record<string, unknown>; timestamp: number }

/** Per shard, the recipients' events in chunks of at most OPS_PER_CALL. */
export function journeyOps(audience: readonly Recipient[], event: JourneyEvent, shards: number, newId: () => string): Map<number, V2Operation[][]> {
  const perShard = new Map<number, V2Operation[]>();
  for (const r of audience) {
    const shard = shardOf(r.key, shards);
    const op: V2Operation = {
      type: 'person', action: 'event', identifiers: { [r.idType]: r.value }, id: newId(), name: event.eventName,
      timestamp: event.timestamp, attributes: { ...event.data, send: event.sendKey },
    };
    const ops = perShard.get(shard);
    if (ops) ops.push(op);
    else perShard.set(shard, [op]);
  }
  const chunked = new Map<number, V2Operation[][]>();
  for (const [shard, ops] of perShard) {
    const chunks: V2Operation[][] = [];
    for (let i = 0; i < ops.length; i += OPS_PER_CALL) chunks.push(ops.slice(i, i + OPS_PER_CALL));
    chunked.set(shard, chunks);
  }
  return chunked;
}
