/** A reader as the panel's directory keeps it: derived from the reader's state at sync time. Pure. */
import { type ReaderState, isKnown, readerFacts } from '#shared/reader.ts';
import { engagementScore } from '#shared/engagement.ts';
import type { ReaderSummary } from '#shared/panel.ts';

export function readerSummary(state: ReaderState, tags: readonly string[], now: number): ReaderSummary | undefined {
  if (!isKnown(state)) return undefined;
  return {
    key: state.key,
    email: state.email,
    userId: state.userId,
    tags: [...tags],
    score: engagementScore(state.activity, now),
    counters: { ...state.counters },
    traits: { ...state.traits },
    facts: { ...readerFacts(state, now) },
    activeDays: [...state.activeDays],
    lastSeen: state.lastSeen,
    signedUpAt: state.signedUpAt,
    ...(state.pendingSince ? { pendingSince: state.pendingSince, confirmOrigin: state.confirmOrigin ?? null } : {}),
    updatedAt: now,
  };
}
