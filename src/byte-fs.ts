// Node's file-system calls for paths that are Nix strings. A file name that
// is not UTF-8 (one builtins.readDir returned, a raw byte from the command
// line or the environment) is held with its raw bytes as U+DC80–U+DCFF
// (byte-strings.ts); given to node as a string, node would encode those as
// U+FFFD and name another file. These wrappers pass such a path as its
// bytes, and decode what node gives back (link targets, real paths, names
// in a directory) the same way, so a path keeps its bytes both ways.
//
// The evaluator, the commands' path arguments and the collector's root scan
// reach the file system through this module; the store's own files (whose
// names it makes itself) and the configuration files may use node:fs.

import * as fs from 'node:fs';
import { decodeBytes, encodeBytes, fsPath } from './byte-strings.js';

export function exists(p: string): boolean {
  return fs.existsSync(fsPath(p));
}

/** Whether anything is there, a dangling symlink included (existsSync follows links). */
export function existsNoFollow(p: string): boolean {
  try {
    fs.lstatSync(fsPath(p));
    return true;
  } catch {
    return false;
  }
}

export function lstat(p: string): fs.Stats {
  return fs.lstatSync(fsPath(p));
}

export function stat(p: string): fs.Stats {
  return fs.statSync(fsPath(p));
}

/** A file's contents as a Nix string: its UTF-8 text, other bytes kept as raw bytes. */
export function readText(p: string): string {
  return decodeBytes(fs.readFileSync(fsPath(p)));
}

export function readLink(p: string): string {
  return decodeBytes(fs.readlinkSync(fsPath(p), { encoding: 'buffer' }));
}

export function realPath(p: string): string {
  return decodeBytes(fs.realpathSync(fsPath(p), { encoding: 'buffer' }));
}

/** The entries of a directory, names decoded as Nix strings, in the order the system gives them. */
export function readDirEntries(p: string): { name: string; entry: fs.Dirent<Buffer> }[] {
  return fs.readdirSync(fsPath(p), { withFileTypes: true, encoding: 'buffer' }).map((entry) => ({ name: decodeBytes(entry.name), entry }));
}

export function openForReading(p: string): number {
  return fs.openSync(fsPath(p), 'r');
}

/** Writes a Nix string (raw bytes as themselves) or bytes to a file, created with `mode` when new. */
export function writeText(p: string, data: string | Uint8Array, mode?: number): void {
  fs.writeFileSync(fsPath(p), typeof data === 'string' ? encodeBytes(data) : data, mode === undefined ? undefined : { mode });
}

export function unlink(p: string): void {
  fs.unlinkSync(fsPath(p));
}

export function symlink(target: string, link: string): void {
  fs.symlinkSync(fsPath(target), fsPath(link));
}

export function rename(from: string, to: string): void {
  fs.renameSync(fsPath(from), fsPath(to));
}

export function mkdirs(p: string): void {
  fs.mkdirSync(fsPath(p), { recursive: true });
}
