// Finding the garbage collector's roots, by Nix's rules:
//   - <state>/gcroots and <state>/profiles, recursively. A symlink into the
//     store is a root. A symlink to a path outside the store is an indirect
//     root (how `result` links are registered under gcroots/auto): if its
//     target is itself a symlink into the store, that target is the root;
//     if the target is gone, a link under gcroots/auto is removed. A regular
//     file whose name is a store path's base name is a root too.
//   - the temporary roots of running processes (<state>/temproots/<pid>,
//     held with a write lock by their owner; a file we can lock belongs to a
//     dead process and is removed).
// Only valid paths count as permanent roots; `roots` maps each root's store
// path to the links that make it one, which `--print-roots` shows.

import fs from 'node:fs';
import path from 'node:path';
import { existsNoFollow, lstat, readDirEntries, readLink, unlink } from '../../byte-fs.js';
import { isInStore, parseStorePath, toStorePath } from '../store-path.js';
import { lockFd } from '../local/path-locks.js';

/** Store path → the links (files, `{temp:PID}`, /proc entries) that make it a root. */
export type Roots = Map<string, Set<string>>;

export const CENSORED = '{censored}';

export function addRoot(roots: Roots, storePath: string, link: string): void {
  let links = roots.get(storePath);
  if (!links) roots.set(storePath, (links = new Set()));
  links.add(link);
}

export interface RootScanContext {
  storeDir: string;
  /** Where the store really is (a chroot store's physical directory), when it differs. */
  realStoreDir?: string;
  stateDir: string;
  isValidPath(storePath: string): boolean;
  /** Informational messages, Nix's texts (printed at the default verbosity). */
  log(message: string): void;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function isPermanentFailure(e: unknown): boolean {
  const code = errnoOf(e);
  return code === 'EACCES' || code === 'ENOENT' || code === 'ENOTDIR';
}


/** Lexical absolute path (Nix's absPath + canonPath), without resolving symlinks. */
function absolute(target: string, dir: string): string {
  return path.posix.resolve(dir, target);
}

/**
 * In a chroot store, links made for the host (result links) point at the
 * physical directory; they are roots of the logical path all the same.
 */
function logicalTarget(ctx: RootScanContext, target: string): string {
  const real = ctx.realStoreDir;
  if (real && real !== ctx.storeDir && target.startsWith(real + '/')) return ctx.storeDir + target.slice(real.length);
  return target;
}

function foundRoot(ctx: RootScanContext, roots: Roots, link: string, target: string): void {
  let storePath: string;
  try {
    storePath = toStorePath(target, ctx.storeDir).storePath;
  } catch {
    return;
  }
  if (ctx.isValidPath(storePath)) addRoot(roots, storePath, link);
  else ctx.log(`skipping invalid root from '${link}' to '${target}'`);
}

type EntryKind = 'directory' | 'symlink' | 'regular' | 'other';

function kindOf(st: Pick<fs.Stats, 'isDirectory' | 'isSymbolicLink' | 'isFile'>): EntryKind {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'regular';
  return 'other';
}

/** Scans a tree of roots (gcroots or profiles) into `roots`; iterative so deep trees are fine. */
export function findRootsInTree(top: string, ctx: RootScanContext, roots: Roots): void {
  const autoDir = path.join(ctx.stateDir, 'gcroots', 'auto');
  const work: { p: string; kind?: EntryKind }[] = [{ p: top }];
  while (work.length > 0) {
    const { p, kind: knownKind } = work.pop()!;
    try {
      // Names and link targets keep their bytes (byte-fs.ts): a result link
      // in a folder whose name is not UTF-8 is still found, not removed.
      const kind = knownKind ?? kindOf(lstat(p));
      if (kind === 'directory') {
        const entries = readDirEntries(p);
        // Popped in reverse, so push reversed to visit in directory order.
        for (let k = entries.length - 1; k >= 0; k--) {
          const ent = entries[k]!;
          work.push({ p: path.join(p, ent.name), kind: kindOf(ent.entry) });
        }
      } else if (kind === 'symlink') {
        const target = logicalTarget(ctx, readLink(p));
        if (isInStore(target, ctx.storeDir)) {
          foundRoot(ctx, roots, p, target);
        } else {
          const resolved = absolute(target, path.dirname(p));
          if (!existsNoFollow(resolved)) {
            if (p.startsWith(autoDir + '/')) {
              ctx.log(`removing stale link from '${p}' to '${resolved}'`);
              try {
                unlink(p);
              } catch {
                // Someone else removed it.
              }
            }
          } else if (lstat(resolved).isSymbolicLink()) {
            const target2 = logicalTarget(ctx, readLink(resolved));
            if (isInStore(target2, ctx.storeDir)) foundRoot(ctx, roots, resolved, target2);
          }
        }
      } else if (kind === 'regular') {
        const candidate = `${ctx.storeDir}/${path.basename(p)}`;
        let ok = false;
        try {
          parseStorePath(candidate, ctx.storeDir);
          ok = true;
        } catch {
          // Not named like a store path.
        }
        if (ok && ctx.isValidPath(candidate)) addRoot(roots, candidate, p);
      }
    } catch (e) {
      if (isPermanentFailure(e)) ctx.log(`cannot read potential root '${p}'`);
      else throw e;
    }
  }
}

/** Roots under <state>/gcroots and <state>/profiles. */
export function findPermanentRoots(ctx: RootScanContext, roots: Roots = new Map()): Roots {
  findRootsInTree(path.join(ctx.stateDir, 'gcroots'), ctx, roots);
  findRootsInTree(path.join(ctx.stateDir, 'profiles'), ctx, roots);
  return roots;
}

/**
 * The temporary roots of live processes. A file whose write lock we can
 * take belongs to a process that died: it is removed (and marked, so that
 * a process that opened it just before sees it is stale), as Nix does.
 */
export function findTempRoots(
  tempRootsDir: string,
  options: { censor?: boolean; log?: (message: string) => void; storeDir: string },
  roots: Roots = new Map(),
): Roots {
  let names: string[];
  try {
    names = fs.readdirSync(tempRootsDir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return roots;
    throw e;
  }
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const file = path.join(tempRootsDir, name);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue;
      throw e;
    }
    try {
      if (lockFd(fd, 'write', false)) {
        options.log?.(`removing stale temporary roots file '${file}'`);
        try {
          fs.unlinkSync(file);
        } catch {
          // Already gone.
        }
        fs.writeSync(fd, 'd');
        continue;
      }
      const contents = fs.readFileSync(fd, 'latin1');
      const pid = Number.parseInt(name, 10);
      const link = options.censor ? CENSORED : `{temp:${Number.isNaN(pid) ? name : pid}}`;
      for (const entry of contents.split('\0')) {
        if (entry === '') continue;
        // The file is written as UTF-8; store paths are ASCII, anything else is no store path.
        try {
          addRoot(roots, parseStorePath(entry, options.storeDir).path, link);
        } catch {
          // A torn or foreign line: ignore it.
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return roots;
}

/** `nix-store --gc --print-roots`: `<link> -> <store path>` lines, sorted by link and then path. */
export function formatRoots(roots: Roots): string {
  const pairs: [string, string][] = [];
  for (const [storePath, links] of roots) for (const link of links) pairs.push([link, storePath]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([link, storePath]) => `${link} -> ${storePath}\n`).join('');
}
