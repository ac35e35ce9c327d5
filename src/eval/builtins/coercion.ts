// toString: Nix's most permissive string coercion (paths are not copied).

import { registerBuiltins } from './registry.js';
import { mkString } from '../values.js';
import type { EvalState } from '../eval-state.js';

registerBuiltins([
  {
    name: 'toString',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = state.coerceToString(args[0]!, undefined, 'while evaluating the first argument passed to builtins.toString', context, true, false);
      return mkString(s, context);
    },
  },
]);
