// Evaluation for nix-build: the expressions given on the command line, the
// -A attribute paths and --arg/--argstr, turned into the derivations to
// build (Nix's findAlongAttrPath + getDerivations). This shares its setup
// with nix-instantiate; until that is in place, only store derivations can
// be built.

import { NixError } from '../eval/errors.js';
import type { CommonArgs } from '../cli/args.js';
import type { Settings } from '../cli/settings.js';
import type { LocalStore } from '../store/local/local-store.js';

/** A derivation to build and the output the expression selected (Nix's DrvInfo). */
export interface DrvInfo {
  drvPath: string;
  outputName: string;
}

export interface EvaluateOptions {
  store: LocalStore;
  settings: Settings;
  common: CommonArgs;
  /** Files (or, with fromArgs, expressions). */
  files: string[];
  fromArgs: boolean;
  readStdin: boolean;
  /** -A paths; [''] for the whole value. */
  attrPaths: string[];
}

export async function evaluateDerivations(_options: EvaluateOptions): Promise<DrvInfo[]> {
  throw new NixError('nix-build cannot evaluate expressions yet in tsnix; pass a store derivation (.drv) instead');
}
