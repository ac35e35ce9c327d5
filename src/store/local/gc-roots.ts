// Finding GC roots the way Nix does, enough for `nix-store --delete`'s
// liveness check and `-q --roots`: symlinks into the store below
// <state>/gcroots and <state>/profiles (recursively), indirect roots (a
// symlink to a symlink into the store, as --add-root --indirect makes), and
// the temporary roots of live processes. Runtime roots (/proc scanning) are
// left to the garbage collector proper.

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../../eval/errors.js';
import { hashString, printHash } from '../hash.js';
import { lockFd } from './path-locks.js';
import { readTempRootsFile } from './temp-roots.js';
import type { LocalStore } from './local-store.js';

/** Store path → the links that keep it alive. */
export type Roots = Map<string, Set<string>>;

export interface FindRootsOptions {
  /** Include the temp roots of other live processes (and our own). */
  includeTemp?: boolean;
  log?: (message: string) => void;
}

export function findRoots(store: LocalStore, options: FindRootsOptions = {}): Roots {
  const roots: Roots = new Map();
  const log = options.log ?? (() => {});
  const gcRootsDir = path.join(store.stateDir, 'gcroots');
  const autoDir = path.join(gcRootsDir, 'auto');

  const foundRoot = (link: string, target: string): void => {
    const storePath = storePathOf(store, target);
    if (storePath === undefined) return;
    if (store.isValidPath(storePath)) {
      if (!roots.has(storePath)) roots.set(storePath, new Set());
      roots.get(storePath)!.add(link);
    } else {
      log(`skipping invalid root from '${link}' to '${target}'`);
    }
  };

  const visit = (p: string): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      log(`cannot read potential root '${p}'`);
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = fs.readdirSync(p);
      } catch {
        log(`cannot read potential root '${p}'`);
        return;
      }
      for (const name of names) visit(path.join(p, name));
    } else if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(p);
      if (target.startsWith(store.storeDir + '/')) {
        foundRoot(p, target);
        return;
      }
      // An indirect root: a link to a link into the store.
      const abs = path.resolve(path.dirname(p), target);
      let st2: fs.Stats | undefined;
      try {
        st2 = fs.lstatSync(abs);
      } catch {
        st2 = undefined;
      }
      if (!st2) {
        if (p.startsWith(autoDir + '/')) {
          log(`removing stale link from '${p}' to '${abs}'`);
          fs.rmSync(p, { force: true });
        }
        return;
      }
      if (!st2.isSymbolicLink()) return;
      const target2 = fs.readlinkSync(abs);
      if (target2.startsWith(store.storeDir + '/')) foundRoot(abs, target2);
    } else if (st.isFile()) {
      // A regular file named like a store path's base name roots that path.
      const storePath = `${store.storeDir}/${path.basename(p)}`;
      if (store.isValidPath(storePath)) {
        if (!roots.has(storePath)) roots.set(storePath, new Set());
        roots.get(storePath)!.add(p);
      }
    }
  };

  visit(gcRootsDir);
  visit(path.join(store.stateDir, 'profiles'));
  if (options.includeTemp) {
    for (const [storePath, file] of findTempRoots(store)) {
      if (!roots.has(storePath)) roots.set(storePath, new Set());
      roots.get(storePath)!.add(file);
    }
  }
  return roots;
}

/** [store path, temp roots file] for every live process's temp roots (ours included). */
export function findTempRoots(store: LocalStore): [string, string][] {
  const dir = path.join(store.stateDir, 'temproots');
  const found: [string, string][] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const file = path.join(dir, name);
    if (file !== store.tempRoots.file) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r+');
      } catch {
        continue;
      }
      try {
        // A file we can lock belongs to a dead process: its roots do not count.
        if (lockFd(fd, 'write', false)) continue;
      } finally {
        fs.closeSync(fd);
      }
    }
    try {
      for (const p of readTempRootsFile(file)) found.push([p, file]);
    } catch {
      // Disappeared meanwhile.
    }
  }
  return found;
}

function storePathOf(store: LocalStore, target: string): string | undefined {
  if (!target.startsWith(store.storeDir + '/')) return undefined;
  const rest = target.slice(store.storeDir.length + 1);
  const base = rest.split('/')[0]!;
  if (base.length < 34) return undefined;
  return `${store.storeDir}/${base}`;
}

/** Replaces `link` with a symlink to target atomically (temp link + rename), as Nix's makeSymlink. */
function makeSymlinkAtomically(link: string, target: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const tmp = `${link}.tmp-${process.pid}-${Math.floor(Math.random() * 2 ** 31)}`;
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/**
 * Nix's addPermRoot: `gcRoot` becomes a symlink to storePath, registered
 * as an indirect root in <state>/gcroots/auto/<sha1 of the link path>.
 */
export function addPermRoot(store: LocalStore, storePath: string, gcRoot: string): string {
  const root = path.resolve(gcRoot);
  if (root.startsWith(store.storeDir + '/'))
    throw new NixError(`creating a garbage collector root (${root}) in the Nix store is forbidden (are you running nix-build inside the store?)`);
  store.addTempRoot(storePath);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(root);
  } catch {
    st = undefined;
  }
  if (st && (!st.isSymbolicLink() || !fs.readlinkSync(root).startsWith(store.storeDir + '/')))
    throw new NixError(`cannot create symlink '${root}'; already exists`);
  makeSymlinkAtomically(root, storePath);
  const hash = printHash(hashString('sha1', root), 'base32');
  makeSymlinkAtomically(path.join(store.stateDir, 'gcroots', 'auto', hash), root);
  return root;
}
