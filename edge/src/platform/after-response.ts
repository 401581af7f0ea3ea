/** Work a route does after its answer: a pixel or link hit's recording, a refused hit's count. */

/** What `afterResponse` needs of the runtime's execution context. */
export interface WaitUntil { waitUntil(p: Promise<unknown>): void }

/** A Hono context's execution context, or undefined where there is none (tests calling the app directly). */
export function executionContext(c: { readonly executionCtx: WaitUntil }): WaitUntil | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/**
 * The recording of a hit, in `waitUntil`, started on the next turn of the event loop: the answer
 * (the GIF, the redirect) is handed to the runtime before any of the recording's work runs: no
 * token check, no RPC, not even the cache look-ups, whose awaits would otherwise run as
 * microtasks ahead of the answer. Without an execution context (tests calling the app directly)
 * it simply runs.
 */
export function afterResponse(ctx: WaitUntil | undefined, work: () => Promise<unknown>): void {
  const run = (ctx ? nextTurn() : Promise.resolve()).then(work).catch((error) => console.error('recording an email hit failed:', error));
  if (ctx) ctx.waitUntil(run);
}

// The runtime's own timer where there is one (workerd): nodejs_compat's setTimeout builds a Node
// Timeout object on every hit. Node, where this module's unit test runs, has only setTimeout.
const nextTurn = (): Promise<void> => (typeof scheduler === 'undefined'
  ? new Promise<void>((resolve) => setTimeout(resolve, 0))
  : scheduler.wait(0));
