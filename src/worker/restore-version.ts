/**
 * A rollback is a build job whose "build" is reading an earlier version back from the store:
 * no model call, no tokens, no cost. The rest of the pipeline (store, deploy, wait for 200, live)
 * is the same as for any change, so the rolled-back app becomes the newest version and the next
 * change builds on it.
 */
import { type BuildResult, NO_USAGE } from '../builder/types.js';
import type { BuildRow, Repos } from '../db/repos/index.js';
import { SpawnError } from '../errors.js';
import { unpackBundle } from '../lib/bundle-codec.js';
import type { BundleStore } from '../storage/types.js';

export function rollbackSummary(version: number): string {
  return `Rolled back to version ${version}`;
}

/** The files of version `build.rollbackOf` of the build's session, as a build result. */
export async function restoreVersion(
  repos: Repos,
  store: BundleStore,
  build: BuildRow,
): Promise<BuildResult> {
  const version = build.rollbackOf ?? 0;
  const source = await repos.builds.getVersion(build.sessionId, version);
  if (!source?.bundleKey) {
    throw new SpawnError('ERR_VERSION_NOT_FOUND', `Version ${version} of this app is not stored any more.`);
  }
  // The bundle format packs the same files into the same bytes, so the copy stored for this
  // build has the sha256 of the version it restores.
  const files = await unpackBundle(await store.get(source.bundleKey));
  return { files, title: '', summary: rollbackSummary(version), usage: NO_USAGE, findings: [] };
}
