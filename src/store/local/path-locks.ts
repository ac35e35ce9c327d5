// Per-path locks on `<path>.lock` files, the same locks Nix takes: flock(2)
// on the lock file. Node has no flock, but a flock lock belongs to the open
// file description, not to the process that called flock: so we open the
// file ourselves and let util-linux's `flock` utility lock our descriptor
// (passed as its fd 3). When the helper exits the lock stays with our
// descriptor, and the kernel drops it when we close it or when we die, so
// a killed process never leaves a stale lock, and real Nix processes
// working on the same store respect our locks and we theirs.
//
// The cost is one short process per acquisition (about 2 ms); stores take
// these locks only on slow paths (adding a path that is not yet valid,
// building), never for reads.
//
// Stale lock files: a holder that is done deletes the lock file and then
// writes a byte into it, so a waiter that wakes up holding a lock on a
// deleted file sees a non-empty file and starts again (Nix's convention).

import fs from 'node:fs';
import { NixError } from '../../eval/errors.js';

export type LockType = 'read' | 'write' | 'unlock';

export class LockError extends NixError {}

/**
 * flock(2) on fd with the given type; returns false when wait is false and
 * another holder blocks it.
 */
export function lockFd(fd: number, type: LockType, wait: boolean): boolean {
  const args = [type === 'read' ? '-s' : type === 'write' ? '-x' : '-u'];
  if (!wait) args.push('-n');
  args.push('3');
  // node:child_process is loaded here, not at start-up: most runs never need it.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const result = spawnSync('flock', args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (result.error) {
    throw new LockError(`acquiring/releasing lock: cannot run 'flock' (util-linux): ${result.error.message}`);
  }
  if (result.status === 0) return true;
  if (!wait && result.status === 1) return false;
  throw new LockError(`acquiring/releasing lock: ${String(result.stderr).trim() || `flock exited with ${result.status}`}`);
}

/** Opens (creating) a lock file read-write, mode 0600 like Nix. */
export function openLockFile(file: string): number {
  try {
    return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch (e) {
    throw new LockError(`opening lock file '${file}': ${(e as Error).message}`);
  }
}

export class PathLocks {
  private held: { lockFile: string; fd: number }[] = [];
  private deleteOnRelease = false;

  /**
   * Locks `<p>.lock` for each path, in sorted order so that two processes
   * locking overlapping sets cannot deadlock. With wait false, returns false
   * (holding nothing) if any lock is taken by someone else.
   */
  lockPaths(paths: Iterable<string>, options: { wait?: boolean; onWait?: (path: string) => void } = {}): boolean {
    const wait = options.wait ?? true;
    for (const p of [...new Set(paths)].sort()) {
      const lockFile = `${p}.lock`;
      for (;;) {
        const fd = openLockFile(lockFile);
        let acquired = lockFd(fd, 'write', false);
        if (!acquired && wait) {
          options.onWait?.(p);
          acquired = lockFd(fd, 'write', true);
        }
        if (!acquired) {
          fs.closeSync(fd);
          this.release();
          return false;
        }
        // A previous holder deleted the file after we opened it: our lock
        // is on an orphan, so open the path again.
        const st = fs.fstatSync(fd);
        if (st.size !== 0 || st.nlink === 0) {
          fs.closeSync(fd);
          continue;
        }
        this.held.push({ lockFile, fd });
        break;
      }
    }
    return true;
  }

  /** Delete the lock files on release (once the locked paths are valid, nobody needs them). */
  setDeletion(deleteOnRelease: boolean): void {
    this.deleteOnRelease = deleteOnRelease;
  }

  release(): void {
    for (const { lockFile, fd } of this.held) {
      if (this.deleteOnRelease) {
        try {
          fs.unlinkSync(lockFile);
        } catch {
          // Removing lock files only keeps the store tidy.
        }
        try {
          fs.writeSync(fd, 'd');
        } catch {
          // As above.
        }
      }
      fs.closeSync(fd);
    }
    this.held = [];
  }
}
