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

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../eval/errors.js';
import { hashString, printHash } from '../store/hash.js';
import { addPermRoot } from '../store/local/gc-roots.js';
import type { LocalStore } from '../store/local/local-store.js';

function atomicSymlink(link: string, target: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}-${Math.floor(Math.random() * 2 ** 31)}`;
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/** Where a result link should point: the logical path, or the physical one in a chroot store. */
export function resultLinkTarget(store: LocalStore, storePath: string): string {
  return store.storeDir === store.realStoreDir ? storePath : store.toRealPath(storePath);
}

/** Creates (or replaces) the result link and registers it as an indirect GC root. Returns its absolute path. */
export function addResultLink(store: LocalStore, storePath: string, link: string): string {
  const target = resultLinkTarget(store, storePath);
  if (target === storePath) return addPermRoot(store, storePath, link);
  const root = path.resolve(link);
  if (root.startsWith(store.storeDir + '/') || root.startsWith(store.realStoreDir + '/'))
    throw new NixError(`creating a garbage collector root (${root}) in the Nix store is forbidden (are you running nix-build inside the store?)`);
  store.addTempRoot(storePath);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(root);
  } catch {
    st = undefined;
  }
  if (st) {
    const old = st.isSymbolicLink() ? fs.readlinkSync(root) : '';
    if (!old.startsWith(store.storeDir + '/') && !old.startsWith(store.realStoreDir + '/'))
      throw new NixError(`cannot create symlink '${root}'; already exists`);
  }
  atomicSymlink(root, target);
  atomicSymlink(path.join(store.stateDir, 'gcroots', 'auto', printHash(hashString('sha1', root), 'base32')), root);
  return root;
}
