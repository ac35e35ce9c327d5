// toString: Nix's most permissive string coercion (paths are not copied).

import { registerBuiltins } from './registry.js';
import {
  mkStringCopying,
  releaseScratchContext,
  takeScratchContext,
  Thunk,
  type Lazy,
  isInt,
} from '../values.js';
import type { EvalState } from '../eval-state.js';

registerBuiltins([
  {
    name: 'toString',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      // Integers and plain strings (already evaluated) need no context set;
      // the depth check keeps max-call-depth errors exactly where
      // coerceToString would raise them.
      let x: Lazy = args[0]!;
      if (x instanceof Thunk && x.forced) x = x.force();
      if ((isInt(x) || typeof x === 'string') && state.callDepth <= state.settings.maxCallDepth) {
        return typeof x === 'string' ? x : x.toString();
      }
      const context = takeScratchContext();
      try {
        const s = state.coerceToString(args[0]!, undefined, 'while evaluating the first argument passed to builtins.toString', context, true, false);
        return mkStringCopying(s, context);
      } finally {
        releaseScratchContext();
      }
    },
  },
]);
