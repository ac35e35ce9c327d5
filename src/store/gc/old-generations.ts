// Removing old profile generations, as `nix-collect-garbage -d` and
// `--delete-older-than Nd` do before collecting: every symlink under the
// profiles directory whose target mentions "link" is taken for a profile
// (`default -> default-42-link`), and its generations `<name>-<N>-link`
// other than the current one are removed (all of them, or those that were
// superseded before the cut-off time). Nix's rules and messages.

import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../eval/errors.js';
import { PathLocks } from '../local/path-locks.js';

export interface Generation {
  number: number;
  path: string;
  /** mtime of the generation link, in seconds. */
  creationTime: number;
}

function parseGenerationName(profileName: string, name: string): number | undefined {
  if (!name.startsWith(profileName + '-')) return undefined;
  const rest = name.slice(profileName.length + 1);
  const p = rest.indexOf('-link');
  if (p < 0) return undefined;
  const digits = rest.slice(0, p);
  if (!/^\d+$/.test(digits)) return undefined;
  const n = Number(digits);
  return n <= 0xffffffff ? n : undefined;
}

export function findGenerations(profile: string): { generations: Generation[]; current: number | undefined } {
  const dir = path.dirname(profile);
  const profileName = path.basename(profile);
  const generations: Generation[] = [];
  for (const name of fs.readdirSync(dir)) {
    const n = parseGenerationName(profileName, name);
    if (n === undefined) continue;
    const p = path.join(dir, name);
    generations.push({ number: n, path: p, creationTime: Math.floor(fs.lstatSync(p).mtimeMs / 1000) });
  }
  generations.sort((a, b) => a.number - b.number);
  let current: number | undefined;
  try {
    current = parseGenerationName(profileName, fs.readlinkSync(profile));
  } catch {
    current = undefined;
  }
  return { generations, current };
}

export interface GenerationLog {
  /** printInfo/notice-level messages. */
  (message: string): void;
}

function withProfileLock<T>(profile: string, fn: () => T): T {
  const locks = new PathLocks();
  locks.lockPaths([profile]);
  try {
    const result = fn();
    locks.setDeletion(true);
    return result;
  } finally {
    locks.release();
  }
}

function removeGeneration(profile: string, g: Generation, dryRun: boolean, log: GenerationLog): void {
  if (dryRun) {
    log(`would remove profile version ${g.number}`);
  } else {
    log(`removing profile version ${g.number}`);
    fs.unlinkSync(g.path);
  }
}

/** All generations but the current one. */
export function deleteOldGenerations(profile: string, dryRun: boolean, log: GenerationLog): void {
  withProfileLock(profile, () => {
    const { generations, current } = findGenerations(profile);
    for (const g of generations) if (g.number !== current) removeGeneration(profile, g, dryRun, log);
  });
}

/**
 * Generations superseded before `cutoff` (seconds): the newest generation
 * older than the cut-off stays (it was the one active at that time), older
 * ones go, and never the current one.
 */
export function deleteGenerationsOlderThan(profile: string, cutoff: number, dryRun: boolean, log: GenerationLog): void {
  withProfileLock(profile, () => {
    const { generations, current } = findGenerations(profile);
    let canDelete = false;
    for (let k = generations.length - 1; k >= 0; k--) {
      const g = generations[k]!;
      if (canDelete) {
        if (g.number !== current) removeGeneration(profile, g, dryRun, log);
      } else if (g.creationTime < cutoff) {
        canDelete = true;
      }
    }
  });
}

/** `14d` → the cut-off time in seconds; Nix's usage errors otherwise. */
export function parseDaysSpec(spec: string, now = Math.floor(Date.now() / 1000)): number {
  if (spec === '' || !spec.endsWith('d'))
    throw new UsageError(`invalid number of days specifier '${spec}', expected something like '14d'`);
  const digits = spec.slice(0, -1);
  const days = /^-?\d+$/.test(digits) ? Number(digits) : NaN;
  if (!Number.isFinite(days) || days < 1) throw new UsageError(`invalid number of days specifier '${spec}'`);
  return now - days * 24 * 3600;
}

/**
 * Walks a profiles directory as nix-collect-garbage does: symlinks whose
 * target contains "link" are profiles (only if the directory is writable);
 * subdirectories are searched too.
 */
export function removeOldGenerations(dir: string, options: { olderThan?: string; dryRun: boolean }, log: GenerationLog): void {
  try {
    fs.accessSync(dir, fs.constants.R_OK);
  } catch {
    return;
  }
  let canWrite = true;
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    canWrite = false;
  }
  // Directory order as the kernel gives it (Node's readdirSync sorts), as Nix walks it.
  const entries: fs.Dirent[] = [];
  const handle = fs.opendirSync(dir);
  try {
    for (let ent = handle.readSync(); ent !== null; ent = handle.readSync()) entries.push(ent);
  } finally {
    handle.closeSync();
  }
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    if (ent.isSymbolicLink() && canWrite) {
      let target: string;
      try {
        target = fs.readlinkSync(p);
      } catch {
        continue;
      }
      if (target.includes('link')) {
        log(`removing old generations of profile ${p}`);
        // The days are checked per profile, as in Nix (no profile, no error).
        if (options.olderThan !== undefined) deleteGenerationsOlderThan(p, parseDaysSpec(options.olderThan), options.dryRun, log);
        else deleteOldGenerations(p, options.dryRun, log);
      }
    } else if (ent.isDirectory()) {
      removeOldGenerations(p, options, log);
    }
  }
}
