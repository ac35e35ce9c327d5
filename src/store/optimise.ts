// Store optimisation (`nix-store --optimise`, `auto-optimise-store`):
// regular files and symlinks with identical contents become hard links to
// one inode, kept in <store>/.links/<hash>, where <hash> is the base-32
// SHA-256 of the file's NAR serialisation (so the executable bit is part of
// the identity, and a symlink is identified by its target text). Nix's
// rules, so a store optimised by one tool is understood by the other.
//
// Safety:
//  - a file is replaced by an atomic rename of a fresh link over it, so
//    readers never see it missing;
//  - a file that changes while it is hashed (different inode, size, mtime or
//    ctime afterwards) is left alone;
//  - too many links (EMLINK), immutable files (EPERM) and a full links
//    directory (ENOSPC) skip the file instead of failing the pass;
//  - a .links entry that disappears under us (a collection removed it as
//    unused) is recreated on the next attempt.
// Incremental: files whose inode already is a .links inode are skipped
// without hashing.

import fs from 'node:fs';
import path from 'node:path';
import { hashPath } from './nar.js';
import { printHash } from './hash.js';

export interface OptimiseStats {
  filesLinked: number;
  bytesFreed: number;
  blocksFreed: number;
}

export interface OptimiseLog {
  info(message: string): void;
  warn(message: string): void;
}

const S_IWUSR = 0o200;

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

let tempCounter = 0;

export class StoreOptimiser {
  /** Inodes of the .links entries: files sharing one are already optimised. */
  private inodes: Set<number> | undefined;

  /** `inodes` preset (e.g. empty for one new path) skips loading the whole .links directory. */
  constructor(readonly realStoreDir: string, readonly linksDir: string, private readonly log: OptimiseLog, inodes?: Set<number>) {
    this.inodes = inodes;
  }

  private loadInodes(): Set<number> {
    if (this.inodes) return this.inodes;
    const inodes = new Set<number>();
    fs.mkdirSync(this.linksDir, { recursive: true });
    for (const name of fs.readdirSync(this.linksDir)) {
      const st = lstatOrUndefined(path.join(this.linksDir, name));
      if (st) inodes.add(st.ino);
    }
    this.inodes = inodes;
    return inodes;
  }

  /** Optimises every file below `top` (a real path in the store). */
  optimiseTree(top: string, stats: OptimiseStats): void {
    const inodes = this.loadInodes();
    const stack = [top];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const st = lstatOrUndefined(p);
      if (!st) continue;
      if (st.isDirectory()) {
        for (const name of fs.readdirSync(p)) stack.push(path.join(p, name));
        continue;
      }
      if (!st.isFile() && !st.isSymbolicLink()) continue;
      if (st.nlink > 1 && inodes.has(st.ino)) continue;
      this.optimiseFile(p, st, stats, inodes);
    }
  }

  private optimiseFile(p: string, st: fs.Stats, stats: OptimiseStats, inodes: Set<number>): void {
    // Files in the store are read-only; a writable one was modified behind
    // the store's back and must not become shared.
    if (st.isFile() && (st.mode & S_IWUSR)) {
      this.log.warn(`skipping suspicious writable file '${p}'`);
      return;
    }
    let hash: string;
    try {
      hash = printHash(hashPath('sha256', p).hash, 'base32');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      throw e;
    }
    const after = lstatOrUndefined(p);
    if (!after || !sameFile(st, after)) return;

    const linkPath = path.join(this.linksDir, hash);
    for (let attempt = 0; attempt < 2; attempt++) {
      let stLink = lstatOrUndefined(linkPath);
      if (stLink && stLink.size !== st.size) {
        this.log.warn(`removing corrupted link '${linkPath}'`);
        this.log.warn('There may be more corrupted paths.\nYou should run `nix-store --verify --check-contents --repair` to fix them all');
        fs.unlinkSync(linkPath);
        stLink = undefined;
      }
      if (!stLink) {
        try {
          fs.linkSync(p, linkPath);
          inodes.add(st.ino);
          return;
        } catch (e) {
          const code = errnoOf(e);
          if (code === 'ENOSPC') {
            this.log.info(`cannot link '${linkPath}' to '${p}': ${(e as Error).message}`);
            return;
          }
          if (code === 'EPERM' || code === 'EMLINK') return;
          if (code !== 'EEXIST') throw e;
        }
        stLink = lstatOrUndefined(linkPath);
        if (!stLink) continue;
      }
      if (stLink.ino === st.ino) return;
      const result = this.replaceWithLink(p, st, linkPath);
      if (result === 'retry') continue;
      if (result === 'linked') {
        stats.filesLinked++;
        stats.bytesFreed += st.size;
        stats.blocksFreed += st.blocks;
      }
      return;
    }
  }

  /** Atomically replaces p by a hard link to linkPath. */
  private replaceWithLink(p: string, st: fs.Stats, linkPath: string): 'linked' | 'skipped' | 'retry' {
    const dir = path.dirname(p);
    const mustToggle = dir !== this.realStoreDir;
    let dirMode = 0;
    if (mustToggle) {
      dirMode = fs.lstatSync(dir).mode & 0o7777;
      fs.chmodSync(dir, dirMode | S_IWUSR);
    }
    const tempLink = path.join(this.realStoreDir, `.tmp-link-${process.pid}-${tempCounter++}-${Math.floor(Math.random() * 1e9)}`);
    try {
      try {
        fs.linkSync(linkPath, tempLink);
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'EMLINK') {
          // Too many links to one inode (typically the empty file): leave this copy alone.
          if (st.size) this.log.info(`'${linkPath}' has maximum number of links`);
          return 'skipped';
        }
        if (code === 'ENOENT') return 'retry';
        if (code === 'EPERM') return 'skipped';
        throw e;
      }
      // Last check before the swap: the file must still be what was hashed.
      const now = lstatOrUndefined(p);
      if (!now || !sameFile(st, now)) {
        fs.unlinkSync(tempLink);
        return 'skipped';
      }
      try {
        fs.renameSync(tempLink, p);
      } catch (e) {
        try {
          fs.unlinkSync(tempLink);
        } catch {
          this.log.warn(`unable to unlink '${tempLink}'`);
        }
        const code = errnoOf(e);
        if (code === 'EMLINK' || code === 'EPERM') return 'skipped';
        throw e;
      }
      return 'linked';
    } finally {
      if (mustToggle) {
        // Back to read-only with the canonical timestamp (the rename changed the directory's mtime).
        fs.chmodSync(dir, dirMode);
        try {
          const dst = fs.lstatSync(dir);
          fs.lutimesSync(dir, dst.atime, new Date(1000));
        } catch {
          // Only cosmetic.
        }
      }
    }
  }
}

export function emptyStats(): OptimiseStats {
  return { filesLinked: 0, bytesFreed: 0, blocksFreed: 0 };
}

/** What optimiseStore needs of a store. */
export interface OptimisableStore {
  readonly storeDir: string;
  readonly realStoreDir: string;
  readonly linksDir: string;
  queryAllValidPaths(): string[];
  isValidPath(path: string): boolean;
  addTempRoot(path: string): void;
  toRealPath(path: string): string;
}

/** `nix-store --optimise`: every valid path; returns the statistics for Nix's summary line. */
export function optimiseStore(store: OptimisableStore, log: OptimiseLog): OptimiseStats {
  const stats = emptyStats();
  const optimiser = new StoreOptimiser(store.realStoreDir, store.linksDir, log);
  for (const p of store.queryAllValidPaths()) {
    // A temp root first, so a concurrent collection does not delete the path under us.
    store.addTempRoot(p);
    if (!store.isValidPath(p)) continue;
    optimiser.optimiseTree(store.toRealPath(p), stats);
  }
  return stats;
}

/** Nix's summary: `<X.XX> MiB freed by hard-linking <N> files`. */
export function formatOptimiseSummary(stats: OptimiseStats): string {
  return `${(stats.bytesFreed / (1024 * 1024)).toFixed(2)} MiB freed by hard-linking ${stats.filesLinked} files`;
}

/** auto-optimise-store: called after a path is added (its real path). */
export function optimiseNewPath(realStoreDir: string, linksDir: string, realPath: string, log: OptimiseLog): OptimiseStats {
  const stats = emptyStats();
  // As in Nix, a single new path is not worth reading all of .links for.
  new StoreOptimiser(realStoreDir, linksDir, log, new Set()).optimiseTree(realPath, stats);
  return stats;
}
