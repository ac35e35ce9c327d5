// Writing a command's output straight to a file descriptor. process.stdout
// costs every command that prints a result a dozen of Node's stream modules
// loaded and compiled (a few milliseconds of each nix-instantiate), and on a
// pipe it switches fd 1 to non-blocking mode, after which synchronous writes
// (nix-store --dump, --export) meet EAGAIN.

import * as fs from 'node:fs';
import { NixError } from '../eval/errors.js';
import { encodeBytes } from '../byte-strings.js';

/** The reader of a pipe went away: Nix's FdSink reports this as an error. */
export class BrokenPipeError extends NixError {
  constructor() {
    super('writing to file: Broken pipe');
  }
}

/** Writes all of `data` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
export function writeAllFd(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new BrokenPipeError();
      if (code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/** The part of a writable stream commands use for their output. */
export interface Output {
  write(data: string | Uint8Array): unknown;
}

/**
 * An Output on a file descriptor, written synchronously. When the reader
 * goes away (`nix-instantiate ... | head -c1`) the rest is dropped and the
 * command still succeeds, as with Nix's std::cout.
 */
export class FdOutput implements Output {
  private broken = false;
  constructor(private readonly fd: number) {}
  write(data: string | Uint8Array): boolean {
    if (this.broken) return false;
    try {
      writeAllFd(this.fd, typeof data === 'string' ? encodeBytes(data) : data);
    } catch (e) {
      if (!(e instanceof BrokenPipeError)) throw e;
      this.broken = true;
    }
    return !this.broken;
  }
}
