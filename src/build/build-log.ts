// Build logs where Nix keeps them: <logDir>/drvs/<first 2 chars>/<rest of
// the .drv base name>. Nix compresses them with bzip2 (`<rest>.bz2`) unless
// `compress-build-log = false`; Node has no bzip2, and the builder writes
// straight into the log file (one descriptor for stdout and stderr keeps
// their order exact), so tsnix always writes the uncompressed form — the
// one Nix itself writes with compress-build-log = false. Nix's
// `nix-store --read-log` looks for both names, so it reads ours, and
// readBuildLog below reads both (the .bz2 one through the `bzip2` program).

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LogLines } from './log-lines.js';
import { filterAnsiEscapes } from '../ansi-escapes.js';

/** The uncompressed log file of a derivation. */
export function buildLogPath(logDir: string, drvPath: string): string {
  const base = path.basename(drvPath);
  return path.join(logDir, 'drvs', base.slice(0, 2), base.slice(2));
}

/** The stored log of a derivation (plain or .bz2), or undefined if there is none. */
export function readBuildLog(logDir: string, drvPath: string): Buffer | undefined {
  const plain = buildLogPath(logDir, drvPath);
  try {
    return fs.readFileSync(plain);
  } catch {
    // try the compressed name
  }
  const bz2 = `${plain}.bz2`;
  if (!fs.existsSync(bz2)) return undefined;
  const r = spawnSync('bzip2', ['-dc', bz2], { maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) throw new Error(`cannot decompress build log '${bz2}': ${r.error?.message ?? r.stderr.toString().trim()}`);
  return r.stdout;
}

/** The last `n` lines of a log (an unterminated last line counts), as Nix shows them after a failure. */
export function lastLogLines(log: Buffer | string, n: number): string[] {
  if (n <= 0) return [];
  // Lines as Nix makes them (carriage returns overwrite), without escape
  // sequences (the message is not only shown on terminals).
  const split = new LogLines();
  const lines = split.push(typeof log === 'string' ? Buffer.from(log) : log);
  lines.push(...split.flush());
  return lines.slice(-n).map((l) => filterAnsiEscapes(l, false));
}
