import { describe, expect, it } from 'vitest';
import { type Pending, alarmFor, nextDue, wakeAt } from './schedule.ts';

const now = 1_700_000_000_000;
const send = (key: string, over: Partial<Pending> = {}) => ({ key, mode: 'broadcast' as const, broadcastId: 1, nextAt: 0, ...over });

describe('the next send to try', () => {
  it('is the first due one whose broadcast may be triggered now', () => {
    const due = [send('a'), send('b', { broadcastId: 2 })];
    expect(nextDue(due, new Map(), now)?.key).toBe('a');
    expect(nextDue(due, new Map([[1, now + 1]]), now)?.key).toBe('b');
    expect(nextDue(due, new Map([[1, now], [2, now]]), now)?.key).toBe('a');
  });

  it('is a journey send whatever its broadcast\'s pace (it goes through the outbox)', () => {
    expect(nextDue([send('a'), send('j', { mode: 'journey' })], new Map([[1, now + 10_000]]), now)?.key).toBe('j');
  });

  it('is none when every due broadcast waits, or no row is due yet', () => {
    expect(nextDue([send('a'), send('b')], new Map([[1, now + 5]]), now)).toBeNull();
    expect(nextDue([send('a', { nextAt: now + 1 })], new Map(), now)).toBeNull();
    expect(nextDue([], new Map(), now)).toBeNull();
  });
});

describe('when the queue wakes', () => {
  it('is the earliest of each send\'s retry time (or its broadcast\'s, when later) and the next welcome', () => {
    const pending = [send('a', { nextAt: now + 5_000 }), send('b', { broadcastId: 2, nextAt: now + 1_000 })];
    expect(wakeAt(pending, new Map([[2, now + 9_000]]), null)).toBe(now + 5_000);
    expect(wakeAt(pending, new Map([[2, now + 9_000]]), now + 2_000)).toBe(now + 2_000);
    expect(wakeAt([send('j', { mode: 'journey', nextAt: now })], new Map([[1, now + 9_000]]), null)).toBe(now);
  });

  it('is never when nothing is pending', () => {
    expect(wakeAt([], new Map(), null)).toBeNull();
    expect(wakeAt([], new Map(), now)).toBe(now);
  });

  it('takes many pending sends (no spread of thousands of arguments)', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => send(`s${i}`, { nextAt: now + i }));
    expect(wakeAt(many, new Map(), null)).toBe(now);
  });

  it('moves the alarm only sooner, except from the alarm itself; never into the past', () => {
    expect(alarmFor(now + 10, now, null, false)).toBe(now + 10);
    expect(alarmFor(now + 10, now, now + 5, false)).toBeNull();
    expect(alarmFor(now + 10, now, now + 50, false)).toBe(now + 10);
    expect(alarmFor(now + 10, now, now + 5, true)).toBe(now + 10);
    expect(alarmFor(now - 10, now, null, false)).toBe(now);
  });
});
