// The process's arguments and environment as the bytes they were given.
// Node decodes both as UTF-8 and replaces each byte that is not with U+FFFD,
// where Nix keeps the bytes (a --argstr value, an -E expression, a getEnv
// value). Linux keeps the originals in /proc/self/cmdline and
// /proc/self/environ; a value holding U+FFFD is read back from there, as raw
// bytes (byte-strings.ts), when node's decoding of those bytes gives exactly
// the value at hand (the variable has not been changed since start-up).
// Elsewhere, and for values without U+FFFD, node's strings are used as they
// are. The working directory is the same story (/proc/self/cwd).

import { readFileSync, readlinkSync } from 'node:fs';
import { decodeBytes } from './byte-strings.js';

const REPLACEMENT = '\uFFFD';

/** NUL-terminated entries of a /proc/self file, or null when it cannot be read. */
function procEntries(file: string): Buffer[] | null {
  let all: Buffer;
  try {
    all = readFileSync(`/proc/self/${file}`);
  } catch {
    return null;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; ) {
    let end = all.indexOf(0, i);
    if (end < 0) end = all.length;
    out.push(all.subarray(i, end));
    i = end + 1;
  }
  return out;
}

/** The raw value if node's decoding of it is `decoded`, else `decoded`. */
function restored(raw: Buffer | undefined, decoded: string): string {
  return raw !== undefined && raw.toString('utf8') === decoded ? decodeBytes(raw) : decoded;
}

/** The process's last `args.length` arguments, those node gave U+FFFD in read back as bytes. */
export function argsWithBytes(args: string[]): string[] {
  if (!args.some((a) => a.includes(REPLACEMENT))) return args;
  const raw = procEntries('cmdline');
  if (raw === null || raw.length < args.length) return args;
  const tail = raw.slice(raw.length - args.length);
  return args.map((a, i) => (a.includes(REPLACEMENT) ? restored(tail[i], a) : a));
}

let startEnv: Map<string, Buffer> | null | undefined;

/** An environment variable's value (node's `decoded`), read back as bytes where node gave it U+FFFD. */
export function envValueWithBytes(name: string, decoded: string): string {
  if (!decoded.includes(REPLACEMENT)) return decoded;
  if (startEnv === undefined) {
    const entries = procEntries('environ');
    startEnv = entries && new Map();
    for (const e of entries ?? []) {
      const eq = e.indexOf(0x3d);
      if (eq > 0) startEnv!.set(e.toString('utf8', 0, eq), e.subarray(eq + 1));
    }
  }
  return restored(startEnv?.get(name), decoded);
}

/**
 * Makes process.cwd() keep the bytes of a working directory whose name is
 * not UTF-8, so relative paths (path.resolve, `./x` in an expression,
 * `result` links) name the directory we are in. path.resolve asks
 * process.cwd(), so this is the one place that needs it.
 */
let cwdKept = false;

export function keepCwdBytes(): void {
  if (cwdKept) return;
  cwdKept = true;
  const nodeCwd = process.cwd.bind(process);
  process.cwd = () => {
    const decoded = nodeCwd();
    if (!decoded.includes(REPLACEMENT)) return decoded;
    let raw: Buffer | undefined;
    try {
      raw = readlinkSync('/proc/self/cwd', { encoding: 'buffer' });
    } catch {
      raw = undefined;
    }
    return restored(raw, decoded);
  };
}
