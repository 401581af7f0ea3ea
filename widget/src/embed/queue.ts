/**
 * The outbox's rules, as pure functions over arrays (the tracker reads and writes storage
 * around them): bounded, oldest dropped first, so an offline reader never fills storage; and
 * what is already in a request is not put in a second one.
 */
export interface Queued {
  id: string;
}

export const addToQueue = <T extends Queued>(queue: T[], events: T[], max: number): T[] => queue.concat(events).slice(-max);

export const notInFlight = <T extends Queued>(queue: T[], inFlight: Set<string>): T[] => queue.filter((e) => !inFlight.has(e.id));

/** Drops the delivered events (by id) and keeps the rest in order. */
export const removeFromQueue = <T extends Queued>(queue: T[], sent: Queued[]): T[] => notInFlight(queue, new Set(sent.map((e) => e.id)));
