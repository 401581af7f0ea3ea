/**
 * What the loader hands the lazy UI chunk (as `window.sharpsend.x`). Types only: the chunk is a
 * separate IIFE and reaches the loader at run time, never by import.
 */
export interface SignupInput {
  email: string;
  consent: boolean;
  topics?: string[];
  /** Reuse one id for retries of the same sign-up so the edge counts it once. */
  id?: string;
}

/**
 * The loader's commands (`sharpsend(name, ...args)` calls `core[name]`), which are also what the
 * UI chunk uses: one object, so no command is written twice. `prefs`, `makeId`, `flush` and
 * `onPrefs` are for the chunk, not documented as commands.
 */
export interface Core {
  /** Topics the reader picked, as remembered in storage. */
  prefs(): string[];
  /** Saves at once, tells the edge (when tracking is allowed) and every mounted picker. */
  preferences(topics: string[]): void;
  /** Set by the UI chunk: called when preferences change from elsewhere (another picker, a command). */
  onPrefs?: (topics: string[]) => void;
  /** The edge's answer (202, or 4xx with `{error, issues}`), or null when it could not be reached. */
  signup(input: SignupInput): Promise<Response | null>;
  makeId(): string;
  /** Sends what the outbox holds now; settles when the edge answered (nothing to await: offline, nothing queued). */
  flush(): Promise<unknown> | void;
  /**
   * The loader's own injects the UI chunk when the page has a `[data-sharpsend]` placeholder; the
   * chunk replaces it with one that mounts every placeholder not yet mounted.
   */
  mount(): void;
  page(options?: { category?: string }): void;
  track(name: string, properties?: Record<string, unknown>): void;
  consent(granted: boolean): void;
}

export type Command = [name: string, ...args: unknown[]];

export interface SharpSend {
  (...command: Command): unknown;
  q?: IArguments[] | Command[];
  x?: Core;
}
