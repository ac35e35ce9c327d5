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

/**
 * One temproots file per process and store, shared by every TempRoots of
 * that store in the process (the evaluator and the builder may each open
 * the store): opening it again would unlink the file holding the other's
 * roots, since the name is our pid.
 */
interface SharedFile {
  fd: number;
  users: number;
  written: Set<string>;
  onExit: () => void;
}
const openFiles = new Map<string, SharedFile>();

export class TempRoots {
  readonly file: string;
  private shared: SharedFile | undefined;

  constructor(readonly tempRootsDir: string, pid: number = process.pid) {
    this.file = path.join(tempRootsDir, String(pid));
  }

  /** Records storePath as in use by this process (idempotent). */
  add(storePath: string): void {
    const shared = this.acquire();
    if (shared.written.has(storePath)) return;
    fs.writeSync(shared.fd, `${storePath}\0`);
    // A collection that already read the temproots files learns of the root
    // over its socket (Nix's protocol); a no-op when none is running.
    announceTempRoot(path.dirname(this.tempRootsDir), storePath);
    shared.written.add(storePath);
  }

  private acquire(): SharedFile {
    if (this.shared) return this.shared;
    let shared = openFiles.get(this.file);
    if (!shared) {
      const file = this.file;
      const fd = openTempRootsFile(this.tempRootsDir, file);
      const onExit = () => {
        try {
          fs.unlinkSync(file);
        } catch {
          // Already gone.
        }
      };
      shared = { fd, users: 0, written: new Set(), onExit };
      openFiles.set(file, shared);
      process.once('exit', onExit);
    }
    shared.users++;
    this.shared = shared;
    return shared;
  }

  /** This store handle is done with its roots; the file goes when the last handle in the process closes. */
  close(): void {
    const shared = this.shared;
    if (!shared) return;
    this.shared = undefined;
    if (--shared.users > 0) return;
    openFiles.delete(this.file);
    process.removeListener('exit', shared.onExit);
    shared.onExit();
    fs.closeSync(shared.fd);
  }
}

/** Creates and write-locks our temproots file, Nix's way. */
function openTempRootsFile(dir: string, file: string): number {
  fs.mkdirSync(dir, { recursive: true });
  for (;;) {
    // A file with our pid can only be left over from a dead process.
    try {
      fs.unlinkSync(file);
    } catch {
      // Usually absent.
    }
    const fd = openLockFile(file);
    lockFd(fd, 'write', true);
    // The collector deletes a file it could lock and then writes into it;
    // if that happened between our open and our lock, start again.
    const st = fs.fstatSync(fd);
    if (st.size === 0 && st.nlink > 0) return fd;
    fs.closeSync(fd);
  }
}
