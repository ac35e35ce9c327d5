// Evaluation for nix-build: the expressions given on the command line, the
// -A attribute paths and --arg/--argstr, turned into the derivations to
// build — Nix's findAlongAttrPath + getDerivations, with the evaluation
// set-up nix-instantiate uses (src/cli/eval-setup.ts).

import type { CommonArgs } from '../cli/args.js';
import type { Settings } from '../cli/settings.js';
import { autoArgsOf, createEvalState, maybePrintStats, parseCommandLineExprs } from '../cli/eval-setup.js';
import { EvalError } from '../eval/errors.js';
import { getDerivations } from '../eval/get-derivations.js';
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

export async function evaluateDerivations(o: EvaluateOptions): Promise<DrvInfo[]> {
  const state = createEvalState(o.common, o.store);
  const autoArgs = autoArgsOf(state, o.common);
  const exprs = parseCommandLineExprs(state, { files: o.files, fromArgs: o.fromArgs, readStdin: o.readStdin });
  const out: DrvInfo[] = [];
  for (const e of exprs) {
    const vRoot = state.evalExpr(e);
    for (const attrPath of o.attrPaths) {
      const v = state.findAlongAttrPath(vRoot, attrPath, autoArgs);
      for (const info of getDerivations(state, v, '', autoArgs)) {
        const drvPath = info.requireDrvPath();
        const outputName = info.queryOutputName();
        if (outputName === '') throw new EvalError(`derivation '${drvPath}' lacks an 'outputName' attribute`);
        out.push({ drvPath, outputName });
      }
    }
  }
  maybePrintStats(state);
  return out;
}
