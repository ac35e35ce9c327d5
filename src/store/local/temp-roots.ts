// The temporary GC roots of this process: `<stateDir>/temproots/<pid>`, a
// list of store paths each followed by a NUL byte, write-locked (flock) by
// the process for as long as it lives. The garbage collector treats the
// paths in files it cannot lock as live and deletes files it can lock (their
// owner is dead). This is Nix's layout, so Nix's GC honours our roots and
// ours honours Nix's.
//
// A root added while a collection runs is also sent to the collector's
// socket (store/gc/collector-socket.ts), as Nix does.

import fs from 'node:fs';
import path from 'node:path';
import { lockFd, openLockFile } from './path-locks.js';
import { announceTempRoot } from '../gc/collector-socket.js';

export class TempRoots {
  readonly file: string;
  private fd: number | undefined;
  private readonly added = new Set<string>();
  private readonly onExit = () => this.close();

  constructor(readonly tempRootsDir: string, pid: number = process.pid) {
    this.file = path.join(tempRootsDir, String(pid));
  }

  /** Records storePath as in use by this process (idempotent). */
  add(storePath: string): void {
    if (this.added.has(storePath)) return;
    const fd = this.open();
    fs.writeSync(fd, `${storePath}\0`);
    // A collection that already read the temproots files learns of the root
    // over its socket (Nix's protocol); a no-op when none is running.
    announceTempRoot(path.dirname(this.tempRootsDir), storePath);
    this.added.add(storePath);
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    fs.mkdirSync(this.tempRootsDir, { recursive: true });
    for (;;) {
      // A file with our pid can only be left over from a dead process.
      try {
        fs.unlinkSync(this.file);
      } catch {
        // Usually absent.
      }
      const fd = openLockFile(this.file);
      lockFd(fd, 'write', true);
      // The collector deletes a file it could lock and then writes into it;
      // if that happened between our open and our lock, start again.
      const st = fs.fstatSync(fd);
      if (st.size === 0 && st.nlink > 0) {
        this.fd = fd;
        process.once('exit', this.onExit);
        return fd;
      }
      fs.closeSync(fd);
    }
  }

  /** Removes the file (the process is done with its roots). */
  close(): void {
    if (this.fd === undefined) return;
    process.removeListener('exit', this.onExit);
    try {
      fs.unlinkSync(this.file);
    } catch {
      // Already gone.
    }
    fs.closeSync(this.fd);
    this.fd = undefined;
    this.added.clear();
  }
}
