// The builtins registry: each family of builtins lives in its own module under
// src/eval/builtins/ and registers itself when imported, so adding a family
// is one import line below.
//
// A family module looks like this:
//
//   import { registerBuiltins } from './registry.js';
//   import { forceList, type Lazy } from '../values.js';
//
//   registerBuiltins([
//     {
//       name: '__length',            // '__x': global `__x` and `builtins.x`;
//       arity: 1,                    // 'map': global `map` and `builtins.map`
//       // Nix forces primop arguments with no position (noPos): pass undefined, not `pos`.
//       fn: (args, pos, state) =>
//         BigInt(forceList(args[0]!, undefined, 'while evaluating the first argument passed to builtins.length').length),
//     },
//     { name: '__langVersion', value: () => 6n },   // a constant (ConstDef)
//   ]);
//
// PrimOpDef (values.ts): { name, arity, fn(args: Lazy[], pos, state): Value, addTrace?, experimentalFeature?, nativeCodeOnly? }.
//   Arguments arrive unforced. `state` is the EvalState (eval-state.ts):
//   state.callFunction(f, [x, y], pos), state.coerceToString(v, pos, ctx,
//   contextSet, coerceMore, copyToStore), state.coerceToPath, state.realisePath,
//   state.eqValues, state.forceValueDeep, the store (state.store), settings.
//   Throw NixError subclasses (errors.ts); the evaluator adds "while calling
//   the 'x' builtin" at the call site.
// ConstDef (registry.ts): { name, value(state): Lazy, impureOnly? } — return
//   a Thunk for a lazily computed constant.

import './types.js';
import './arithmetic.js';
import './control.js';
import './attrs.js';
import './lists.js';
import './filesystem.js';
import './import.js';
import './coercion.js';
import './fetchers.js';
import './derivation.js';
import './strings.js';
import './context.js';
import './json.js';
import './toml.js';
import './xml.js';
import './exec.js';

export { registeredBuiltins, registerBuiltins, isConstDef, type BuiltinDef, type ConstDef } from './registry.js';
