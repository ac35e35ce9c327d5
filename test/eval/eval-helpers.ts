// Evaluating small expressions for builtin tests: a read-only store, no logging.
import { EvalState } from '../../src/eval/eval-state.js';
import { NixError } from '../../src/eval/errors.js';
import { printAmbiguous } from '../../src/eval/print-value.js';
import { ReadOnlyStore } from '../../src/store/readonly-store.js';

export function newState(opts: { experimentalFeatures?: string[]; log?: (l: string) => void; enableNativeCode?: boolean } = {}): EvalState {
  return new EvalState(new ReadOnlyStore('/nix/store'), {
    log: opts.log ?? (() => {}),
    experimentalFeatures: new Set(opts.experimentalFeatures ?? []),
    enableNativeCode: opts.enableNativeCode ?? false,
  });
}

/** The value of `src`, forced deeply and printed as `nix-instantiate --eval --strict` prints it. */
export function evalNix(src: string, state = newState()): string {
  const v = state.evalString(src);
  state.forceValueDeep(v);
  return printAmbiguous(v);
}

/** The message of the error `src` raises (without traces). */
export function evalError(src: string, state = newState()): string {
  try {
    const v = state.evalString(src);
    state.forceValueDeep(v);
  } catch (e) {
    if (e instanceof NixError) return e.message;
    throw e;
  }
  throw new Error(`no error from ${src}`);
}
