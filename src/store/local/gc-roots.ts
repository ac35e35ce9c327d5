// Making permanent GC roots as Nix does (--add-root, result links): the
// link itself plus an indirect root in <state>/gcroots/auto. Finding roots
// is the garbage collector's business (src/store/gc/roots.ts).

import type fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../../eval/errors.js';
// A link's path (and so its target in gcroots/auto) keeps its bytes when it is not UTF-8.
import { lstat, mkdirs, readLink, rename, symlink } from '../../byte-fs.js';
import { hashString, printHash } from '../hash.js';
import type { LocalStore } from './local-store.js';

/** Replaces `link` with a symlink to target atomically (temp link + rename), as Nix's makeSymlink. */
function makeSymlinkAtomically(link: string, target: string): void {
  mkdirs(path.dirname(link));
  const tmp = `${link}.tmp-${process.pid}-${Math.floor(Math.random() * 2 ** 31)}`;
  symlink(target, tmp);
  rename(tmp, link);
}

/**
 * Nix's addPermRoot: `gcRoot` becomes a symlink to storePath, registered
 * as an indirect root in <state>/gcroots/auto/<sha1 of the link path>.
 * `linkTarget` lets a chroot store's result link point at the physical
 * path (src/build/result-links.ts); the root is the store path either way.
 */
export function addPermRoot(store: LocalStore, storePath: string, gcRoot: string, linkTarget = storePath): string {
  const root = path.resolve(gcRoot);
  const inStore = (p: string) => p.startsWith(store.storeDir + '/') || p.startsWith(store.realStoreDir + '/');
  if (inStore(root))
    throw new NixError(`creating a garbage collector root (${root}) in the Nix store is forbidden (are you running nix-build inside the store?)`);
  store.addTempRoot(storePath);
  let st: fs.Stats | undefined;
  try {
    st = lstat(root);
  } catch {
    st = undefined;
  }
  if (st && (!st.isSymbolicLink() || !inStore(readLink(root))))
    throw new NixError(`cannot create symlink '${root}'; already exists`);
  makeSymlinkAtomically(root, linkTarget);
  const hash = printHash(hashString('sha1', root), 'base32');
  makeSymlinkAtomically(path.join(store.stateDir, 'gcroots', 'auto', hash), root);
  return root;
}
