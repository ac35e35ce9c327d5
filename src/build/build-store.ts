// What the builder needs from a store: the local store (src/store/local)
// provides all of it; tests may pass anything with the same shape.

import type { ValidPathInfo } from '../store/store-api.js';

export interface BuildStore {
  /** The logical store directory (in store paths). */
  readonly storeDir: string;
  /** Where it is on disk; differs from storeDir for chroot stores. */
  readonly realStoreDir: string;
  readonly stateDir: string;
  readonly logDir: string;
  toRealPath(storePath: string): string;
  isValidPath(path: string): boolean;
  queryPathInfo(path: string): ValidPathInfo | undefined;
  addTempRoot(path: string): void;
  /** Registers paths whose contents are in place, all in one transaction. */
  registerValidPaths(infos: ValidPathInfo[]): void;
}
