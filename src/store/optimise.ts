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
//
// Speed: the pass is mostly system calls, and the one that can wait for the
// disk is freeing a replaced file's blocks (on ext4 mounted with `discard`,
// freeing waits for the device's discard). The replaced file is kept open
// across the rename and, when closing proves slow, closed by a thread of
// libuv's pool (BackgroundCloser), so the last close, which frees it, waits
// there while the pass goes on.

import fs from 'node:fs';
import path from 'node:path';
import { encodeBase32 } from './base32.js';
import { createHash, hashBytes } from './hash.js';

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
  // No exception for a missing file: this runs several times per file in the store.
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

let tempCounter = 0;

/** One NAR string: little-endian u64 length, bytes, zero padding to 8. */
function narToken(s: string): Buffer {
  const bytes = Buffer.from(s);
  const out = Buffer.alloc(8 + Math.ceil(bytes.length / 8) * 8);
  out.writeBigUInt64LE(BigInt(bytes.length));
  bytes.copy(out, 8);
  return out;
}

const NAR_REGULAR = Buffer.concat(['nix-archive-1', '(', 'type', 'regular', 'contents'].map(narToken));
const NAR_EXECUTABLE = Buffer.concat(['nix-archive-1', '(', 'type', 'regular', 'executable', '', 'contents'].map(narToken));
const NAR_SYMLINK = Buffer.concat(['nix-archive-1', '(', 'type', 'symlink', 'target'].map(narToken));
const NAR_CLOSE = narToken(')');
const ZEROS = Buffer.alloc(8);
/** Holds a small file's whole NAR (header, contents, padding, close), hashed in one call. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);
/** Room in readBuffer for a file's contents after the longest header, plus padding and close. */
const ONE_SHOT_MAX = readBuffer.length - NAR_EXECUTABLE.length - 8 - 8 - NAR_CLOSE.length;

function changed(p: string): Error {
  return Object.assign(new Error(`file '${p}' changed while it was hashed`), { code: 'ECHANGED' });
}

/**
 * Base-32 SHA-256 of the NAR of one regular file or symlink — the name of
 * its .links entry — computed without building the archive (a store holds
 * many small files, and this runs once per file). Must equal
 * printHash(hashPath('sha256', p).hash, 'base32'); the tests check it.
 * Throws an error with code ECHANGED if the file is not the one `st`
 * describes by the time it has been read (for a symlink, the caller checks).
 */
export function narHashOfFile(p: string, st: fs.Stats): string {
  if (st.isSymbolicLink()) return narHashOfSymlink(p);
  const fd = fs.openSync(p, 'r');
  try {
    const hash = readAndHash(fd, p, st);
    if (!unchangedSince(fd, st)) throw changed(p);
    return hash;
  } finally {
    fs.closeSync(fd);
  }
}

function narHashOfSymlink(p: string): string {
  const target = fs.readlinkSync(p, { encoding: 'buffer' });
  const pad = (8 - (target.length % 8)) % 8;
  const len = Buffer.alloc(8);
  len.writeUInt32LE(target.length);
  return encodeBase32(hashBytes('sha256', Buffer.concat([NAR_SYMLINK, len, target, ZEROS.subarray(0, pad), NAR_CLOSE])).bytes);
}

/**
 * The hash of narHashOfFile for the regular file `p`, open as `fd` (which
 * stays open); throws ECHANGED if its size is not st.size. Whether it was
 * otherwise modified meanwhile is for the caller to check (unchangedSince),
 * as late as it can.
 */
function readAndHash(fd: number, p: string, st: fs.Stats): string {
  const header = st.mode & 0o100 ? NAR_EXECUTABLE : NAR_REGULAR;
  return st.size <= ONE_SHOT_MAX ? hashSmallFile(fd, p, st, header) : hashLargeFile(fd, p, st, header);
}

/** Still the file that was stat'ed (same inode, size, times): fstat of the open file is as good as an lstat and cheaper. */
function unchangedSince(fd: number, st: fs.Stats): boolean {
  return sameFile(st, fs.fstatSync(fd));
}

/** The NAR is assembled in readBuffer and hashed in one call. */
function hashSmallFile(fd: number, p: string, st: fs.Stats, header: Buffer): string {
  let off = header.copy(readBuffer, 0);
  readBuffer.writeUInt32LE(st.size, off);
  readBuffer.writeUInt32LE(0, off + 4);
  off += 8;
  // Asking for one byte more than the stat size tells in one read that the file is complete.
  const start = off;
  let got = 0;
  for (;;) {
    const want = st.size + 1 - got;
    const n = fs.readSync(fd, readBuffer, start + got, want, null);
    if (n <= 0) break;
    got += n;
    if (got > st.size) throw changed(p);
    if (n < want && got === st.size) break;
  }
  if (got !== st.size) throw changed(p);
  off += got;
  const pad = (8 - (st.size % 8)) % 8;
  readBuffer.fill(0, off, off + pad);
  off += pad;
  off += NAR_CLOSE.copy(readBuffer, off);
  return encodeBase32(hashBytes('sha256', readBuffer.subarray(0, off)).bytes);
}

function hashLargeFile(fd: number, p: string, st: fs.Stats, header: Buffer): string {
  const h = createHash('sha256');
  h.update(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(st.size));
  h.update(len);
  let size = 0;
  for (;;) {
    const n = fs.readSync(fd, readBuffer, 0, readBuffer.length, null);
    if (n <= 0) break;
    h.update(readBuffer.subarray(0, n));
    size += n;
  }
  // A size different from the stat means the file changed: skip it.
  if (size !== st.size) throw changed(p);
  h.update(ZEROS.subarray(0, (8 - (size % 8)) % 8));
  h.update(NAR_CLOSE);
  return encodeBase32(new Uint8Array(h.digest()));
}

/** Closes the descriptor of a file that was just replaced by a link to its .links twin. */
export interface ReplacedFileCloser {
  close(fd: number): void;
}

/** Closes at once: the pass waits for the file to be freed (auto-optimise-store's one path). */
const closeAtOnce: ReplacedFileCloser = { close: (fd) => fs.closeSync(fd) };

/**
 * Closes replaced files, in libuv's thread pool once closing proves slow,
 * where the wait for freeing them (see the top of this file) does not hold
 * up the pass. Where freeing is quick (no synchronous discard) the pool
 * would only add work, so closes are first made at once and timed, SAMPLE
 * at a time; when the median of a sample exceeds SLOW_CLOSE_NS, the rest
 * go to the pool.
 *
 * In the pool, the event loop has to turn for the closes to be counted:
 * `settle` is awaited between directories. At most MAX_PENDING descriptors
 * are left open; past that a file is closed at once. Closes are handed to
 * the pool BURST at a time: its threads then wake less often.
 */
export class BackgroundCloser implements ReplacedFileCloser {
  static readonly MAX_PENDING = 256;
  static readonly BURST = 16;
  static readonly SAMPLE = 31;
  static readonly SLOW_CLOSE_NS = 40_000;
  private inPool: boolean;
  /** Durations of the closes of the current sample, in ns. */
  private readonly sample = new Float64Array(BackgroundCloser.SAMPLE);
  private sampled = 0;
  /** Closes handed over and not finished, queued ones included. */
  private pending = 0;
  /** Not yet handed to the pool. */
  private readonly queued: number[] = [];
  private waiting: { below: number; resolve: () => void } | undefined;
  private readonly done = (): void => {
    this.pending--;
    const w = this.waiting;
    if (w && this.pending <= w.below) {
      this.waiting = undefined;
      w.resolve();
    }
  };

  /** `inPool` starts in the pool without timing closes first. */
  constructor(inPool = false) {
    this.inPool = inPool;
  }

  /** Whether closes go to the pool. */
  get background(): boolean {
    return this.inPool;
  }

  close(fd: number): void {
    if (!this.inPool) {
      const t0 = process.hrtime.bigint();
      fs.closeSync(fd);
      this.sample[this.sampled++] = Number(process.hrtime.bigint() - t0);
      if (this.sampled === BackgroundCloser.SAMPLE) {
        this.sampled = 0;
        // The median: a close delayed by preemption does not decide.
        if (this.sample.sort()[BackgroundCloser.SAMPLE >> 1] > BackgroundCloser.SLOW_CLOSE_NS) this.inPool = true;
      }
      return;
    }
    if (this.pending >= BackgroundCloser.MAX_PENDING) {
      fs.closeSync(fd);
      return;
    }
    this.pending++;
    this.queued.push(fd);
    if (this.queued.length >= BackgroundCloser.BURST) this.flush();
  }

  private flush(): void {
    // (Closing a descriptor opened for reading cannot lose data: errors are ignored.)
    for (const fd of this.queued) fs.close(fd, this.done);
    this.queued.length = 0;
  }

  get outstanding(): number {
    return this.pending;
  }

  /** Nothing to do while at most `high` closes are outstanding; otherwise waits until at most `low` are. */
  async settle(high: number, low = high): Promise<void> {
    if (this.pending <= high) return;
    this.flush();
    await new Promise<void>((resolve) => {
      this.waiting = { below: low, resolve };
    });
  }
}

/** What the pass needs to know of a .links entry. */
interface LinkEntry {
  ino: number;
  size: number;
}
const MAX_KNOWN_LINKS = 100_000;

export class StoreOptimiser {
  /** Inodes of the .links entries: files sharing one are already optimised. */
  private inodes: Set<number> | undefined;
  /**
   * .links entries seen or made by this pass, by name: a store's duplicates
   * are mostly many copies of a few files, and the entry need not be
   * looked up again for each (if it went meanwhile, linking to it fails
   * with ENOENT and the pass looks again). Bounded: forgotten when full.
   */
  private readonly knownLinks = new Map<string, LinkEntry>();

  /**
   * `inodes` preset (e.g. empty for one new path) skips loading the whole
   * .links directory; `closer` takes the descriptors of replaced files.
   */
  constructor(
    readonly realStoreDir: string,
    readonly linksDir: string,
    private readonly log: OptimiseLog,
    inodes?: Set<number>,
    private readonly closer: ReplacedFileCloser = closeAtOnce,
  ) {
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

  private rememberLink(hash: string, st: LinkEntry): void {
    if (this.knownLinks.size >= MAX_KNOWN_LINKS) this.knownLinks.clear();
    this.knownLinks.set(hash, { ino: st.ino, size: st.size });
  }

  /** Optimises every file below `top` (a real path in the store). */
  optimiseTree(top: string, stats: OptimiseStats): void {
    const dirs = this.startTree(top, stats);
    while (dirs.length > 0) this.optimiseDirectory(dirs, stats);
  }

  /**
   * Optimises `top` if it is a file; for a directory, returns the stack of
   * directories to optimise (with optimiseDirectory), so that a caller can
   * pause between them.
   */
  startTree(top: string, stats: OptimiseStats): string[] {
    const inodes = this.loadInodes();
    const topSt = lstatOrUndefined(top);
    if (!topSt) return [];
    if (topSt.isDirectory()) return [path.resolve(top)];
    // A top-level file: its directory is the store itself, never toggled.
    if (topSt.isFile() || topSt.isSymbolicLink()) this.optimiseFile(top, topSt, stats, inodes, new DirectoryToggle(path.dirname(top), false));
    return [];
  }

  /** Optimises the files of the directory on top of `dirs`, pushing its subdirectories there. */
  optimiseDirectory(dirs: string[], stats: OptimiseStats): void {
    const inodes = this.loadInodes();
    const dir = dirs.pop()!;
    // Made writable once for all replacements in it, and restored afterwards.
    const toggle = new DirectoryToggle(dir, true);
    try {
      for (const name of fs.readdirSync(dir)) {
        // (dir is normalised and names have no slashes: no path.join needed.)
        const p = `${dir}/${name}`;
        const st = lstatOrUndefined(p);
        if (!st) continue;
        if (st.isDirectory()) dirs.push(p);
        else if (st.isFile() || st.isSymbolicLink()) {
          if (st.nlink > 1 && inodes.has(st.ino)) continue;
          this.optimiseFile(p, st, stats, inodes, toggle);
        }
      }
    } finally {
      toggle.restore();
    }
  }

  private optimiseFile(p: string, st: fs.Stats, stats: OptimiseStats, inodes: Set<number>, toggle: DirectoryToggle): void {
    if (st.isSymbolicLink()) {
      let hash: string;
      try {
        hash = narHashOfSymlink(p);
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return;
        throw e;
      }
      const after = lstatOrUndefined(p);
      if (!after || !sameFile(st, after)) return;
      this.share(p, st, hash, stats, inodes, toggle);
      return;
    }
    // Files in the store are read-only; a writable one was modified behind
    // the store's back and must not become shared.
    if (st.mode & S_IWUSR) {
      this.log.warn(`skipping suspicious writable file '${p}'`);
      return;
    }
    let fd: number;
    try {
      fd = fs.openSync(p, 'r');
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      throw e;
    }
    // Open until the file is replaced, so that the rename does not free it.
    let replaced = false;
    try {
      let hash: string;
      try {
        hash = readAndHash(fd, p, st);
      } catch (e) {
        if (errnoOf(e) === 'ECHANGED') return;
        throw e;
      }
      replaced = this.share(p, st, hash, stats, inodes, toggle, fd);
    } finally {
      if (replaced) this.closer.close(fd);
      else fs.closeSync(fd);
    }
  }

  /**
   * Links p, whose contents hash to `hash`, with its .links entry; true if p
   * was replaced by a link. `fd` is p open, for a regular file: whether it
   * changed since `st` is checked before it becomes a .links entry (a file
   * to be replaced is checked by replaceWithLink, just before the swap).
   */
  private share(p: string, st: fs.Stats, hash: string, stats: OptimiseStats, inodes: Set<number>, toggle: DirectoryToggle, fd = -1): boolean {
    const linkPath = `${this.linksDir}/${hash}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      // (An entry remembered with another size is looked at again before it is called corrupted.)
      const known = attempt === 0 ? this.knownLinks.get(hash) : undefined;
      let stLink: LinkEntry | undefined = known && known.size === st.size ? known : lstatOrUndefined(linkPath);
      if (stLink && stLink.size !== st.size) {
        this.log.warn(`removing corrupted link '${linkPath}'`);
        this.log.warn('There may be more corrupted paths.\nYou should run `nix-store --verify --check-contents --repair` to fix them all');
        fs.unlinkSync(linkPath);
        stLink = undefined;
      }
      if (!stLink) {
        if (fd >= 0 && !unchangedSince(fd, st)) return false;
        try {
          fs.linkSync(p, linkPath);
          inodes.add(st.ino);
          this.rememberLink(hash, st);
          return false;
        } catch (e) {
          const code = errnoOf(e);
          if (code === 'ENOSPC') {
            this.log.info(`cannot link '${linkPath}' to '${p}': ${(e as Error).message}`);
            return false;
          }
          if (code === 'EPERM' || code === 'EMLINK') return false;
          if (code !== 'EEXIST') throw e;
        }
        stLink = lstatOrUndefined(linkPath);
        if (!stLink) continue;
      }
      if (stLink !== known) this.rememberLink(hash, stLink);
      if (stLink.ino === st.ino) return false;
      const result = this.replaceWithLink(p, st, linkPath, toggle);
      if (result === 'retry') {
        // The entry went (a collection removed it): look again.
        this.knownLinks.delete(hash);
        continue;
      }
      if (result === 'linked') {
        stats.filesLinked++;
        stats.bytesFreed += st.size;
        stats.blocksFreed += st.blocks;
        return true;
      }
      return false;
    }
    return false;
  }

  /** Atomically replaces p by a hard link to linkPath. */
  private replaceWithLink(p: string, st: fs.Stats, linkPath: string, toggle: DirectoryToggle): 'linked' | 'skipped' | 'retry' {
    const tempLink = `${this.realStoreDir}/.tmp-link-${process.pid}-${tempCounter++}-${Math.floor(Math.random() * 1e9)}`;
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
    toggle.makeWritable();
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
  }
}

/**
 * A store directory made writable for as long as files in it are being
 * replaced, then put back to its mode with the canonical timestamp (the
 * renames changed its mtime). The store directory itself is never touched.
 */
class DirectoryToggle {
  private savedMode: number | undefined;

  constructor(private readonly dir: string, private readonly allowed: boolean) {}

  makeWritable(): void {
    if (!this.allowed || this.savedMode !== undefined) return;
    const mode = fs.lstatSync(this.dir).mode & 0o7777;
    fs.chmodSync(this.dir, mode | S_IWUSR);
    this.savedMode = mode;
  }

  restore(): void {
    if (this.savedMode === undefined) return;
    fs.chmodSync(this.dir, this.savedMode);
    try {
      const st = fs.lstatSync(this.dir);
      fs.lutimesSync(this.dir, st.atime, new Date(1000));
    } catch {
      // Only cosmetic.
    }
    this.savedMode = undefined;
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

/** Replaced files whose closes may be outstanding before the pass waits for some (see BackgroundCloser). */
const CLOSES_HIGH = 64;
const CLOSES_LOW = 16;

/** `nix-store --optimise`: every valid path; returns the statistics for Nix's summary line. */
export async function optimiseStore(store: OptimisableStore, log: OptimiseLog): Promise<OptimiseStats> {
  const stats = emptyStats();
  const closer = new BackgroundCloser();
  const optimiser = new StoreOptimiser(store.realStoreDir, store.linksDir, log, undefined, closer);
  try {
    for (const p of store.queryAllValidPaths()) {
      // A temp root first, so a concurrent collection does not delete the path under us.
      store.addTempRoot(p);
      if (!store.isValidPath(p)) continue;
      const dirs = optimiser.startTree(store.toRealPath(p), stats);
      while (dirs.length > 0) {
        optimiser.optimiseDirectory(dirs, stats);
        await closer.settle(CLOSES_HIGH, CLOSES_LOW);
      }
    }
  } finally {
    // Done when every replaced file is freed.
    await closer.settle(0);
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
