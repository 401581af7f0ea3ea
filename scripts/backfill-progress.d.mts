export declare const fmt: (n: number) => string;
export declare const duration: (ms: number) => string;
export declare function progressLine(
  state: { status: string; people: number; enqueued: number; pending?: { operations: number } },
  options: { started: number; now: number; expectedTotal?: number | null; width?: number },
): string;
