// The global GC lock, <state>/gc.lock, as Nix uses it: the collector holds
// it exclusively for the whole collection; anyone else can tell whether a
// collection is running by trying to take it shared without waiting. Real
// Nix processes and tsnix processes use the same file and the same flock(2)
// locks, so each respects the other's collections.

import fs from 'node:fs';
import path from 'node:path';
import { lockFd, openLockFile } from '../local/path-locks.js';

export function gcLockPath(stateDir: string): string {
  return path.join(stateDir, 'gc.lock');
}

export class GcLock {
  private constructor(private fd: number | undefined) {}

  /** Waits for the exclusive lock; `onWait` is called once if someone else holds it. */
  static acquire(stateDir: string, onWait?: () => void): GcLock {
    const fd = openLockFile(gcLockPath(stateDir));
    if (!lockFd(fd, 'write', false)) {
      onWait?.();
      lockFd(fd, 'write', true);
    }
    return new GcLock(fd);
  }

  release(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** True if a collection (tsnix's or Nix's) holds the GC lock right now. */
export function isCollectorRunning(stateDir: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(gcLockPath(stateDir), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  } catch {
    return false;
  }
  try {
    return !lockFd(fd, 'read', false);
  } finally {
    fs.closeSync(fd);
  }
}
