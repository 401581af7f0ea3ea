/** Reaching reader objects from the Worker: the context they need and pointer-following reads. */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { ReaderContext } from './reader-object.ts';
import type { ReaderView } from '#shared/reader.ts';
import type { ReaderKey } from './names.ts';
import { readerStub } from '#edge/platform/stubs.ts';

/** `edgeOrigin`: where the request came in (a double opt-in sign-up's confirm link points there). */
export function readerContext(workspace: EdgeWorkspace, key: ReaderKey, edgeOrigin = ''): ReaderContext {
  const optIn = workspace.doubleOptIn;
  return {
    workspace: workspace.id,
    key,
    tagRules: workspace.tagRules,
    attributePrefix: workspace.attributePrefix,
    shards: workspace.sync.shards,
    forwardPageViews: workspace.sync.forwardPageViews,
    doubleOptIn: optIn?.enabled ? { forgetAfterDays: optIn.forgetAfterDays, origin: edgeOrigin } : null,
  };
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
