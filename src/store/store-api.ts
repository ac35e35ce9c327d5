// The Store interface: the only view of the store the evaluator and the
// builder get. It is synchronous on purpose: evaluation is a synchronous
// walk of closures, better-sqlite3 is synchronous, and file I/O on the store
// is local. Implementations: the local SQLite store (also for chroot stores,
// where the physical directory differs from the logical storeDir) and a
// path-computing store for --eval / --readonly-mode that writes nothing.

import type { Hash } from './hash.js';

/** How the contents of a path are hashed when it is added. */
export type FileIngestionMethod = 'flat' | 'recursive';

export type HashAlgo = 'md5' | 'sha1' | 'sha256' | 'sha512';

export interface ValidPathInfo {
  path: string;
  /** `sha256:<base32>`, as nix-store -q --hash prints it (the database keeps `sha256:<base16>`). */
  narHash: string;
  narSize: number;
  references: string[];
  deriver?: string;
  registrationTime?: number;
  ultimate?: boolean;
  sigs?: string[];
  /** Content address, e.g. `fixed:r:sha256:<base32>` or `text:sha256:<base32>`. */
  ca?: string;
}

export interface AddPathOptions {
  method: FileIngestionMethod;
  hashAlgo: HashAlgo;
  /** Called with the absolute source path of each entry below the root; false leaves it out. */
  filter?: (path: string, type: 'regular' | 'directory' | 'symlink' | 'unknown') => boolean;
  references?: string[];
  /** Expected content hash (hex or any Nix encoding); a mismatch is an error. */
  expectedHash?: string;
}

export interface Store {
  /** The logical store directory, e.g. /nix/store. */
  readonly storeDir: string;
  /** True when nothing is written (paths are only computed). */
  readonly readOnly: boolean;

  /** Where a logical store path lives on disk (differs from the path in a chroot store). */
  toRealPath(storePath: string): string;

  isValidPath(path: string): boolean;
  queryPathInfo(path: string): ValidPathInfo | undefined;

  /**
   * builtins.toFile and .drv files: a text path with references. Returns the
   * store path. `textHash`, when given, is the sha256 of `text` (callers
   * that needed it anyway save hashing it twice), as a Hash or in base-16.
   * A .drv is checked as Nix checks one it registers (its output paths must
   * be its own), unless `derivationChecked`: derivationStrict made it so.
   */
  addTextToStore(name: string, text: string, references: string[], textHash?: Hash | string, derivationChecked?: boolean): string;

  /** Path literals, builtins.path, filterSource: copies srcPath in. Returns the store path. */
  addPathToStore(name: string, srcPath: string, options: AddPathOptions): string;

  /**
   * The store fetchers add what they fetch to. Nix's fetchers write even in
   * read-only mode (it only keeps derivations and copied sources from being
   * written), so a read-only store over a real one hands that one out;
   * otherwise (dummy://, or a writable store) it is the store itself.
   */
  forFetchers?(): Store;
}
