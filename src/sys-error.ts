// Node's file-system errors ("ENOENT: no such file or directory, open 'x'")
// rephrased the way Nix words a failed system call
// ("opening file 'x': No such file or directory").

import { NixError } from './eval/errors.js';

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EXDEV: 'Invalid cross-device link',
  EBUSY: 'Device or resource busy',
  ENAMETOOLONG: 'File name too long',
  EIO: 'Input/output error',
  EPIPE: 'Broken pipe',
};

const WHAT: Record<string, Describe> = {
  open: (p) => `opening file '${p}'`,
  mkdir: (p) => `creating directory '${p}'`,
  lstat: (p) => `getting status of '${p}'`,
  stat: (p) => `getting status of '${p}'`,
  scandir: (p) => `opening directory '${p}'`,
  opendir: (p) => `opening directory '${p}'`,
  readlink: (p) => `reading symbolic link '${p}'`,
  symlink: (p, d) => `creating symlink from '${d}' to '${p}'`,
  unlink: (p) => `cannot unlink '${p}'`,
  rmdir: (p) => `cannot unlink '${p}'`,
  rename: (p, d) => `renaming '${p}' to '${d}'`,
  chmod: (p) => `changing mode of '${p}'`,
  utime: (p) => `changing modification time of '${p}'`,
  lutime: (p) => `changing modification time of '${p}'`,
  read: (p) => `reading from file '${p}'`,
  write: (p) => `writing to file '${p}'`,
};

type Describe = (path: string, dest?: string) => string;

/** Nix's wording when a file is opened in order to create it (restoring archives). */
export const CREATING: Record<string, Describe> = { open: (p) => `creating file '${p}'` };

/** What C's strerror says for a Node system error's code (Nix puts it after the call it describes). */
export function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return (e as Error).message;
  return STRERROR[code] ?? code;
}

/** A NixError for a Node system error, or undefined if e is not one; `wording` overrides per system call. */
export function nixSysError(e: unknown, wording: Record<string, Describe> = {}): NixError | undefined {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (!(e instanceof Error) || typeof err.code !== 'string' || typeof err.syscall !== 'string') return undefined;
  const reason = strerror(err);
  const what = wording[err.syscall] ?? WHAT[err.syscall];
  if (what && err.path) return new NixError(`${what(err.path, err.dest)}: ${reason}`);
  // Reads and writes name no file (Node's errors carry no path for them).
  if (err.syscall === 'read') return new NixError(`reading from file: ${reason}`);
  if (err.syscall === 'write') return new NixError(`writing to file: ${reason}`);
  return new NixError(`${err.syscall}: ${reason}`);
}
