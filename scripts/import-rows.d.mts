export declare const MAX_BATCH_CALLS: number;
export declare const MAX_BATCH_BYTES: number;
export type ImportCall = { type: string; userId?: string; traits?: Record<string, unknown>; messageId?: string; [k: string]: unknown };
export declare function typedCell(text: string, options?: { strings?: boolean }): string | number | boolean;
export declare function recordToCall(record: Record<string, unknown>, options?: { fromCsv?: boolean; strings?: boolean }): ImportCall;
export declare function jsonToCall(value: unknown): { call: ImportCall; error?: undefined } | { error: string; call?: undefined };
export declare function messageIdFor(workspace: string, call: ImportCall): string;
export interface PackedBatch { calls: ImportCall[]; lines: number[]; bytes: number }
export declare function batchPacker(options?: { maxCalls?: number; maxBytes?: number }): {
  add(call: ImportCall, line: number): { tooLarge: boolean; ready: PackedBatch | null };
  flush(): PackedBatch | null;
};
export declare function csvRecordLine(endLine: number, raw: string): number;
export declare const reasonOf: (issues: Array<{ path: string; message: string }>) => string;
export declare function retryDelayMs(attempt: number, retryAfter: string | null | undefined, now?: number, random?: () => number): number;
export declare const fmt: (n: number) => string;
export declare function progressLine(p: { done: number; total: number; doneAtStart: number; started: number; now: number; width?: number }): string;
export declare function summaryText(
  totals: { accepted: number; duplicates: number; rejected: Array<{ line: number; reason: string }> },
  options?: { limit?: number },
): string;
