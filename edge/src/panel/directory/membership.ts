/**
 * Which readers join or leave one segment when they change: the existing pure rule `inSegment`
 * (manual additions and removals over the rule) applied to just those readers, against what the
 * `members` table held for them. Used for a sync batch (a few hundred readers), a chunk of a
 * re-evaluation after a rule change, and a manual change. Pure.
 */
import { type ReaderSummary, type SegmentRule, inSegment } from '#shared/panel.ts';

export type MemberReader = Pick<ReaderSummary, 'key' | 'facts' | 'tags' | 'score'>;
export type Override = 'add' | 'remove';

export interface SegmentChanges<R extends MemberReader = MemberReader> {
  /** Readers now in the segment who were not. */
  joined: R[];
  /** Keys of readers no longer in it (including readers that are gone: `present` lacks them). */
  left: string[];
  /** Members before and after whose score moved (the members table keeps score for "top by score"). */
  rescored: R[];
  /** How the segment's stored count moves. */
  delta: number;
}

/**
 * `readers`: the readers as they are now. `wasMember`: the keys the members table holds among the
 * keys looked at (`looked`: present readers' keys plus any that are gone), with their stored score.
 */
export function segmentChanges<R extends MemberReader>(rule: SegmentRule | null, readers: readonly R[], manual: ReadonlyMap<string, Override>,
  wasMember: ReadonlyMap<string, number>): SegmentChanges<R> {
  const joined: R[] = [];
  const left: string[] = [];
  const rescored: R[] = [];
  const present = new Set<string>();
  for (const r of readers) {
    present.add(r.key);
    const now = inSegment(r, rule, manual);
    const before = wasMember.get(r.key);
    if (now && before === undefined) joined.push(r);
    else if (!now && before !== undefined) left.push(r.key);
    else if (now && before !== r.score) rescored.push(r);
  }
  for (const key of wasMember.keys()) if (!present.has(key)) left.push(key);
  return { joined, left, rescored, delta: joined.length - left.length };
}
