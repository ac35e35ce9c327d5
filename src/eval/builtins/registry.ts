// The list every builtin family adds itself to when its module is imported.
// Kept apart from index.ts so family modules can import it without a cycle.

import type { Lazy, PrimOpDef, Value } from '../values.js';

/**
 * A constant: `name` follows Nix's convention (see PrimOpDef.name). `value`
 * is called once per EvalState; return a Thunk to make it lazy.
 */
export interface ConstDef {
  name: string;
  value: (state: any) => Lazy;
  /** Leave it out of the global scope and `builtins` in pure evaluation mode (currentTime, …). */
  impureOnly?: boolean;
}

export type BuiltinDef = PrimOpDef | ConstDef;

export const registeredBuiltins: BuiltinDef[] = [];

export function registerBuiltins(defs: BuiltinDef[]): void {
  registeredBuiltins.push(...defs);
}

export function isConstDef(d: BuiltinDef): d is ConstDef {
  return 'value' in d;
}

export type { PrimOpDef, Value };
