// Control: throw, abort, tryEval, seq, deepSeq, trace, traceVerbose, warn,
// addErrorContext, break.

import { registerBuiltins } from './registry.js';
import { Abort, AssertionError, EvalError, NixError, ThrownError } from '../errors.js';
import { force, forceString, NixAttrs, NixString, type Lazy } from '../values.js';
import { printValue } from '../print-value.js';
import type { EvalState } from '../eval-state.js';

registerBuiltins([
  {
    name: 'throw',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const s = state.coerceToString(args[0]!, undefined, 'while evaluating the error message passed to builtin.throw', new Set());
      throw new ThrownError(s);
    },
  },
  {
    name: 'abort',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const s = state.coerceToString(args[0]!, undefined, 'while evaluating the error message passed to builtins.abort', new Set());
      throw new Abort(`evaluation aborted with the following error message: '${s}'`);
    },
  },
  {
    name: '__tryEval',
    arity: 1,
    fn: (args) => {
      try {
        force(args[0]!);
        return new NixAttrs(new Map<string, Lazy>([['success', true], ['value', args[0]!]]));
      } catch (e) {
        if (e instanceof AssertionError) return new NixAttrs(new Map<string, Lazy>([['success', false], ['value', false]]));
        throw e;
      }
    },
  },
  {
    name: '__seq',
    arity: 2,
    fn: (args) => {
      force(args[0]!);
      return force(args[1]!);
    },
  },
  {
    name: '__deepSeq',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      state.forceValueDeep(args[0]!);
      return force(args[1]!);
    },
  },
  {
    name: '__trace',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const v = force(args[0]!);
      state.trace(typeof v === 'string' ? v : v instanceof NixString ? v.s : printValue(args[0]!));
      return force(args[1]!);
    },
  },
  {
    name: '__traceVerbose',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      if (state.settings.traceVerbose) {
        const v = force(args[0]!);
        state.trace(typeof v === 'string' ? v : v instanceof NixString ? v.s : printValue(args[0]!));
      }
      return force(args[1]!);
    },
  },
  {
    name: '__warn',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const msg = forceString(args[0]!, undefined, 'while evaluating the first argument; the message passed to builtins.warn');
      state.warn(msg, 'evaluation warning');
      if (state.settings.abortOnWarn) {
        throw new EvalError('aborting to reveal stack trace of warning, as abort-on-warn is set');
      }
      return force(args[1]!);
    },
  },
  {
    name: '__addErrorContext',
    arity: 2,
    addTrace: false,
    fn: (args, _pos, state: EvalState) => {
      try {
        return force(args[1]!);
      } catch (e) {
        if (e instanceof NixError) {
          const msg = state.coerceToString(
            args[0]!,
            undefined,
            'while evaluating the error message passed to builtins.addErrorContext',
            new Set(),
            false,
            false,
          );
          e.addTrace(undefined, msg, true);
        }
        throw e;
      }
    },
  },
  {
    name: 'break',
    arity: 1,
    fn: (args) => force(args[0]!),
  },
]);
