// Opening "the store" for a command: the local store (also chroot), or a
// path-computing store for dummy:// and --readonly-mode / --eval, which must
// not create or write anything.

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../../eval/errors.js';
import { ReadOnlyStore } from '../readonly-store.js';
import type { Store } from '../store-api.js';
import { LocalStore, type LocalStoreOptions } from './local-store.js';
import { resolveStoreConfig, StoreConfigError, type LocalStoreConfig, type ResolveStoreOptions } from './store-config.js';

export interface OpenStoreOptions extends ResolveStoreOptions {
  /** --readonly-mode / --eval: compute paths, write nothing. */
  readOnly?: boolean;
  /** Where notices (the chroot store warning, unknown-parameter warnings) go. */
  warn?: (message: string) => void;
  /** Settings-derived behaviour of the local store (reserved space, auto-optimise). */
  localStore?: LocalStoreOptions;
}

function resolveLocal(options: OpenStoreOptions): LocalStoreConfig | { kind: 'dummy'; storeDir: string } {
  try {
    const cfg = resolveStoreConfig(options);
    if (cfg.kind === 'local') {
      for (const w of cfg.warnings) options.warn?.(w);
      if (cfg.chrootNotice?.created) options.warn?.(cfg.chrootNotice.message);
    }
    return cfg;
  } catch (e) {
    if (e instanceof StoreConfigError) throw new NixError(e.message);
    throw e;
  }
}

/** The local store, for commands that need one (nix-store, nix-build); dummy:// is an error. */
export function openLocalStore(options: OpenStoreOptions = {}): LocalStore {
  const cfg = resolveLocal(options);
  if (cfg.kind !== 'local') throw new NixError("you don't have sufficient rights to use this command");
  return LocalStore.open(cfg, options.localStore);
}

/**
 * The store for evaluation: read-only when asked or for dummy://; a
 * read-only store still answers validity queries from an existing database.
 */
export function openStoreForEval(options: OpenStoreOptions = {}): Store {
  const cfg = resolveLocal(options);
  if (cfg.kind === 'dummy') return new ReadOnlyStore(cfg.storeDir);
  if (!options.readOnly) return LocalStore.open(cfg, options.localStore);
  return new ReadOnlyStore(
    cfg.storeDir,
    () => {
      if (!fs.existsSync(path.join(cfg.stateDir, 'db', 'db.sqlite'))) return undefined;
      try {
        return LocalStore.open(cfg, options.localStore);
      } catch {
        return undefined;
      }
    },
    () => LocalStore.open(cfg, options.localStore),
  );
}
