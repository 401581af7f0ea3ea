import { describe, expect, it } from 'vitest';
import { duration, progressLine } from '../../scripts/backfill-progress.mjs';

describe('backfill progress line', () => {
  const started = 1_000_000;
  it('shows a bar, the share written and an ETA once the total is known', () => {
    const line = progressLine({ status: 'done', people: 3000, enqueued: 3000, pending: { operations: 1500 } }, { started, now: started + 3000, width: 10 });
    expect(line).toContain('█████░░░░░');
    expect(line).toContain(' 50%');
    expect(line).toContain('written 1,500');
    expect(line).toContain('500/s');
    expect(line).toContain('ETA 3s');
  });

  it('uses --expected while walking, and says it does not know otherwise', () => {
    const walking = { status: 'running', people: 1200, enqueued: 1200, pending: { operations: 200 } };
    expect(progressLine(walking, { started, now: started + 2000, expectedTotal: 4000, width: 8 })).toMatch(/██░░░░░░\s+25%.*found 1,200\+.*ETA 6s/);
    expect(progressLine(walking, { started, now: started + 2000, width: 8 })).toMatch(/░{8}\s+….*ETA —/);
  });

  it('formats durations', () => {
    expect(duration(900)).toBe('1s');
    expect(duration(125_000)).toBe('2m05s');
    expect(duration(3_726_000)).toBe('1h02m');
    expect(duration(NaN)).toBe('—');
  });
});
