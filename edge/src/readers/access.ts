/** Reaching reader objects from the Worker: the context they need and pointer-following reads. */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { IngestResult, ReaderContext } from './reader-object.ts';
import type { AnyReaderEvent } from './apply-event.ts';
import { fnv1a } from '#shared/crypto.ts';
import type { ReaderView } from '#shared/reader.ts';
import type { ReaderKey } from './names.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import { BoundedMap } from '#shared/bounded-map.ts';
import type { TagRule } from '#shared/tag-rules.ts';

/** `edgeOrigin`: where the request came in (a double opt-in sign-up's confirm link points there). */
export function readerContext(workspace: EdgeWorkspace, key: ReaderKey, edgeOrigin = ''): ReaderContext {
  const optIn = workspace.doubleOptIn;
  return {
    workspace: workspace.id,
    key,
    tagRules: workspace.tagRules,
    rulesVersion: rulesVersion(workspace.tagRules),
    attributePrefix: workspace.attributePrefix,
    shards: workspace.sync.shards,
    forwardPageViews: workspace.sync.forwardPageViews,
    doubleOptIn: optIn?.enabled ? { forgetAfterDays: optIn.forgetAfterDays, origin: edgeOrigin } : null,
  };
}

/** Each workspace's tag rules, one copy per version per isolate (`sharingRules`). */
const rulesHeld = new BoundedMap<string, TagRule[]>(256);

/**
 * The context with the isolate's one copy of its tag rules. Every reader object keeps its
 * context, and the thousand readers of a workspace that one isolate holds at once would
 * otherwise keep a thousand copies of the same rules, for the garbage collector to walk and, as
 * objects are evicted, to collect. The copy is never changed: rules change by a new version.
 */
export function sharingRules(ctx: ReaderContext): ReaderContext {
  const key = `${ctx.workspace}\n${ctx.rulesVersion}`;
  const held = rulesHeld.get(key);
  if (!held) rulesHeld.set(key, ctx.tagRules);
  return held && held !== ctx.tagRules ? { ...ctx, tagRules: held } : ctx;
}

/**
 * Whether two contexts say the same: every field alike (an object field, field by field), the
 * rules by their version. A reader object keeps the context it holds while calls say the same,
 * and so stores it again only when the workspace changed.
 */
export function sameContext(a: ReaderContext, b: ReaderContext): boolean {
  const fields = Object.keys(a) as Array<keyof ReaderContext>;
  if (fields.length !== Object.keys(b).length) return false;
  return fields.every((field) => {
    if (field === 'tagRules') return true;
    const x: unknown = a[field];
    const y: unknown = b[field];
    if (x === y) return true;
    if (!x || !y || typeof x !== 'object' || typeof y !== 'object') return false;
    const entries = Object.entries(x);
    return entries.length === Object.keys(y).length && entries.every(([k, v]) => (y as Record<string, unknown>)[k] === v);
  });
}

const versions = new WeakMap<object, string>();

/**
 * A fingerprint of a workspace's tag rules (two FNV-1a hashes of their JSON), worked out once per
 * cached workspace value: the same rules give the same text in every isolate.
 */
function rulesVersion(rules: ReaderContext['tagRules']): string {
  let version = versions.get(rules);
  if (version === undefined) {
    const json = JSON.stringify(rules);
    version = `${fnv1a(json).toString(36)}.${fnv1a(`${json.length}:${json}`).toString(36)}`;
    versions.set(rules, version);
  }
  return version;
}

/**
 * Hands events to the reader's object (as JSON text), with the workspace's tag rules (a few KB,
 * copied into and out of every call) left out: the object keeps the rules it was last given and
 * names their version. Only a reader that holds other rules (new, or the rules changed) is called
 * again with them. Every busy path (widget batches, pixel and link hits, webhooks, track calls)
 * comes here.
 */
export async function ingestEvents(env: Env, workspace: EdgeWorkspace, key: ReaderKey, events: AnyReaderEvent[], edgeOrigin = ''): Promise<IngestResult> {
  const stub = readerStub(env, workspace.id, key);
  const { tagRules, ...lean } = readerContext(workspace, key, edgeOrigin);
  // As JSON text: cheaper across the call than the objects (ReaderObject.ingest).
  const json = JSON.stringify(events);
  const result = await stub.ingest(lean, json);
  return result.needsRules ? stub.ingest({ ...lean, tagRules }, json) : result;
}

/** The reader as it stands now, following merge pointers (anonymous → known). */
export async function resolveReader(env: Env, workspace: string, key: ReaderKey): Promise<ReaderView | null> {
  let current: string = key;
  for (let hop = 0; hop < 4; hop++) {
    const view = await readerStub(env, workspace, current).view();
    if (!view?.mergedInto) return view;
    current = view.mergedInto;
  }
  return null;
}
