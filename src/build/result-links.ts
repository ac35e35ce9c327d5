// Result symlinks (`result`, `result-dev`, `result-2`, ...) and their
// registration as indirect GC roots (<state>/gcroots/auto/<sha1 of the link
// path> → the link), as Nix's addPermRoot does.
//
// Chroot stores: Nix points the link at the logical path, which does not
// exist on the host, so `./result/bin/hello` cannot run. tsnix points it at
// the physical path instead, so the result is usable; the printed paths stay
// logical. Always, not only when the logical path is missing: a path of that
// name on the host belongs to another store, whose collector knows nothing
// of this link. (The GC maps links into the real store directory back to
// logical paths, src/store/gc/roots.ts.)

import { addPermRoot } from '../store/local/gc-roots.js';
import type { LocalStore } from '../store/local/local-store.js';

/** Where a result link should point: the logical path, or the physical one in a chroot store. */
export function resultLinkTarget(store: LocalStore, storePath: string): string {
  return store.storeDir === store.realStoreDir ? storePath : store.toRealPath(storePath);
}

/** Creates (or replaces) the result link and registers it as an indirect GC root. Returns its absolute path. */
export function addResultLink(store: LocalStore, storePath: string, link: string): string {
  return addPermRoot(store, storePath, link, resultLinkTarget(store, storePath));
}
