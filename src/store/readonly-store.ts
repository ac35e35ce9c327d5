// A store that computes the paths things would get and writes nothing (but
// what fetchers fetch, through forFetchers, as Nix's fetchers write):
// `nix-instantiate --eval`, `--readonly-mode` and `dummy://` (the language
// test suite). Queries go to a backing store when there is one (read-only
// mode over a real store), else every path is invalid.

import { NixError } from '../eval/errors.js';
import { hashFile, hashString, hashEquals, parseHashAny, printHash } from './hash.js';
import { hashPath } from './nar.js';
import { makeFixedOutputPath, makeTextPath, DEFAULT_STORE_DIR } from './store-path.js';
import type { Hash } from './hash.js';
import type { AddPathOptions, Store, ValidPathInfo } from './store-api.js';

export class ReadOnlyStore implements Store {
  readonly readOnly = true;
  readonly storeDir: string;

  private opened = false;
  private backingStore: Store | undefined;

  /**
   * `openBacking` is a store or a function opening one on first query: most
   * evaluations never ask about validity, and opening the database costs
   * start-up time.
   */
  constructor(
    storeDir: string = DEFAULT_STORE_DIR,
    private readonly openBacking?: Store | (() => Store | undefined),
    /** Opens the real store for writing (creating it if need be), for fetchers. */
    private readonly openWritable?: () => Store,
  ) {
    this.storeDir = storeDir;
  }

  private writable: Store | undefined;

  forFetchers(): Store {
    if (!this.openWritable) return this;
    if (this.writable === undefined) {
      // The store already opened for queries, if its database exists.
      this.writable = this.backing ?? this.openWritable();
      // Queries see what was fetched from now on.
      this.opened = true;
      this.backingStore = this.writable;
    }
    return this.writable;
  }

  private get backing(): Store | undefined {
    if (!this.opened) {
      this.opened = true;
      this.backingStore = typeof this.openBacking === 'function' ? this.openBacking() : this.openBacking;
    }
    return this.backingStore;
  }

  toRealPath(storePath: string): string {
    return this.backing ? this.backing.toRealPath(storePath) : storePath;
  }

  isValidPath(path: string): boolean {
    return this.backing?.isValidPath(path) ?? false;
  }

  queryPathInfo(path: string): ValidPathInfo | undefined {
    return this.backing?.queryPathInfo(path);
  }

  addTextToStore(name: string, text: string, references: string[], textHash?: Hash | string): string {
    return makeTextPath(name, textHash ?? hashString('sha256', text), references, this.storeDir);
  }

  addPathToStore(name: string, srcPath: string, options: AddPathOptions): string {
    const hash = options.method === 'recursive'
      ? hashPath(options.hashAlgo, srcPath, options.filter).hash
      : hashFile(options.hashAlgo, srcPath);
    if (options.expectedHash !== undefined) {
      const expected = parseHashAny(options.expectedHash, options.hashAlgo);
      if (!hashEquals(expected, hash))
        throw new NixError(
          `hash mismatch for '${srcPath}':\n  specified: ${printHash(expected, 'base32', true)}\n  got:       ${printHash(hash, 'base32', true)}`);
    }
    return makeFixedOutputPath(options.method, hash, name, this.storeDir, options.references ?? []);
  }
}
