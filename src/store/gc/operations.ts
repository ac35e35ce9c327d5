// The store-maintenance operations of the classic commands, with Nix's
// flags, output and messages: `nix-store --gc`, `--delete`, `--optimise`
// (called from src/commands/store.ts) and the collection part of
// `nix-collect-garbage`. stdout gets what scripts read (paths, roots, the
// summary line); stderr gets the progress messages.

import { UsageError } from '../../eval/errors.js';
import { intWithUnitPrefix, type Settings } from '../../cli/settings.js';
import type { LocalStore } from '../local/local-store.js';
import { collectGarbage, findAllRoots, formatFreed, type GcOptions, type GcResults } from './collect.js';
import { formatRoots } from './roots.js';
import { formatOptimiseSummary, optimiseStore } from '../optimise.js';

export interface OperationIO {
  /** stdout */
  out(text: string): void;
  /** Informational messages (stderr, at the default verbosity). */
  info(message: string): void;
  warn(message: string): void;
  settings: Settings;
}

function keepOptions(settings: Settings) {
  return { keepDerivations: settings.getBool('keep-derivations'), keepOutputs: settings.getBool('keep-outputs') };
}

/** `--max-freed N` with Nix's unit suffixes (K, M, G, T); negative means 0. */
export function parseMaxFreed(value: string): number {
  return Math.max(intWithUnitPrefix(value), 0);
}

/**
 * `nix-store --gc [--print-roots | --print-live | --print-dead] [--max-freed N]`.
 * opFlags are the operation's flags in order, values following their flag
 * (as src/commands/store.ts collects them).
 */
export async function opGC(store: LocalStore, opFlags: string[], opArgs: string[], io: OperationIO): Promise<number> {
  let printRoots = false;
  const options: GcOptions = { action: 'delete-dead', keep: keepOptions(io.settings) };
  for (let k = 0; k < opFlags.length; k++) {
    const f = opFlags[k]!;
    if (f === '--print-roots') printRoots = true;
    else if (f === '--print-live') options.action = 'return-live';
    else if (f === '--print-dead') options.action = 'return-dead';
    else if (f === '--max-freed') {
      const v = opFlags[++k];
      if (v === undefined) throw new UsageError("'--max-freed' requires an argument");
      options.maxFreed = parseMaxFreed(v);
    } else throw new UsageError(`bad sub-operation '${f}' in GC`);
  }
  if (opArgs.length > 0) throw new UsageError('no arguments expected');

  if (printRoots) {
    io.out(formatRoots(findAllRoots(store, { censor: false, log: io.info })));
    return 0;
  }
  const results: GcResults = { paths: new Set(), bytesFreed: 0 };
  try {
    await collectGarbage(store, options, io.info, results);
  } finally {
    if (options.action === 'delete-dead') io.out(formatFreed(results));
  }
  if (options.action !== 'delete-dead') io.out([...results.paths].sort().map((p) => `${p}\n`).join(''));
  return 0;
}

/** `nix-store --delete [--ignore-liveness] PATH...` (paths already resolved to store paths). */
export async function opDelete(store: LocalStore, opFlags: string[], paths: string[], io: OperationIO): Promise<number> {
  let ignoreLiveness = false;
  for (const f of opFlags) {
    if (f === '--ignore-liveness') ignoreLiveness = true;
    else throw new UsageError(`unknown flag '${f}'`);
  }
  const results: GcResults = { paths: new Set(), bytesFreed: 0 };
  try {
    await collectGarbage(store, {
      action: 'delete-specific', pathsToDelete: paths, ignoreLiveness, keep: keepOptions(io.settings),
    }, io.info, results);
  } finally {
    io.out(formatFreed(results));
  }
  return 0;
}

/** `nix-store --optimise`. */
export async function opOptimise(store: LocalStore, opFlags: string[], opArgs: string[], io: OperationIO): Promise<number> {
  if (opFlags.length > 0 || opArgs.length > 0) throw new UsageError('no arguments expected');
  const stats = await optimiseStore(store, { info: io.info, warn: io.warn });
  io.info(formatOptimiseSummary(stats));
  return 0;
}

/** The collection `nix-collect-garbage` runs after removing generations. */
export async function collectAll(store: LocalStore, maxFreed: number | undefined, io: OperationIO): Promise<number> {
  const results: GcResults = { paths: new Set(), bytesFreed: 0 };
  try {
    await collectGarbage(store, { action: 'delete-dead', maxFreed, keep: keepOptions(io.settings) }, io.info, results);
  } finally {
    io.out(formatFreed(results));
  }
  return 0;
}
