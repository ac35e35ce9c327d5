// Automatic collection while building (`min-free` / `max-free`): when the
// store's file system has less than min-free bytes available, collect
// garbage until max-free bytes are available (at most max-free - available
// bytes freed), as Nix does. The builder calls this between builds.
// _NIX_TEST_FREE_SPACE_FILE (Nix's test hook) overrides the free space.

import fs from 'node:fs';
import type { Settings } from '../../cli/settings.js';
import type { LocalStore } from '../local/local-store.js';
import { collectGarbage, type GcLog, type GcResults } from './collect.js';

export function availableBytes(realStoreDir: string, env: NodeJS.ProcessEnv = process.env): number {
  const fake = env._NIX_TEST_FREE_SPACE_FILE;
  if (fake) return Number(fs.readFileSync(fake, 'utf8').trim());
  const st = fs.statfsSync(realStoreDir);
  return st.bavail * st.bsize;
}

/** Runs a collection if free space is below min-free; returns its results, or undefined if none was needed. */
export async function autoCollectIfNeeded(store: LocalStore, settings: Settings, log: GcLog,
  env: NodeJS.ProcessEnv = process.env): Promise<GcResults | undefined> {
  const minFree = settings.getInt('min-free');
  const maxFree = settings.getInt('max-free');
  if (minFree <= 0) return undefined;
  const avail = availableBytes(store.realStoreDir, env);
  if (avail >= minFree || avail >= maxFree) return undefined;
  const maxFreed = maxFree - avail;
  log(`running auto-GC to free ${maxFreed} bytes`);
  return collectGarbage(store, {
    action: 'delete-dead',
    maxFreed,
    keep: { keepDerivations: settings.getBool('keep-derivations'), keepOutputs: settings.getBool('keep-outputs') },
  }, log);
}
