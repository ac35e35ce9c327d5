// Arithmetic, bit operations and ordering: add, sub, mul, div, bitAnd/Or/Xor,
// lessThan, ceil, floor. `a - b`, `a * b`, `a / b` and `a < b` are calls to
// these (the parser lowers them), so the messages are the operators' too.

import { registerBuiltins } from './registry.js';
import { EvalError } from '../errors.js';
import {
  checkedAdd,
  checkedDiv,
  checkedMul,
  checkedSub,
  toInt64,
  force,
  forceFloat,
  forceInt,
  intToBigInt,
  isInt,
  mkInt,
  NixFloat,
  NixPath,
  NixString,
  showType,
  type Lazy,
  type NixInt,
  type Value,
} from '../values.js';
import { printValue, errorPrintOptions } from '../print-value.js';
import { formatFloat } from '../float-format.js';
import type { EvalState } from '../eval-state.js';
import type { Pos } from '../position.js';
import { compareBytewise } from '../../sort-strings.js';

function isFloatOp(a: Lazy, b: Lazy): boolean {
  return force(a) instanceof NixFloat || force(b) instanceof NixFloat;
}

function arith(
  name: string,
  what: string,
  firstCtx: string,
  intOp: (a: NixInt, b: NixInt) => NixInt,
  floatOp: (a: number, b: number) => number,
) {
  return {
    name,
    arity: 2,
    fn: (args: Lazy[]) => {
      force(args[0]!);
      force(args[1]!);
      if (isFloatOp(args[0]!, args[1]!)) {
        return new NixFloat(
          floatOp(
            forceFloat(args[0]!, undefined, firstCtx),
            forceFloat(args[1]!, undefined, `while evaluating the second argument of the ${what}`),
          ),
        );
      }
      return intOp(
        forceInt(args[0]!, undefined, `while evaluating the first argument of the ${what}`),
        forceInt(args[1]!, undefined, `while evaluating the second argument of the ${what}`),
      );
    },
  };
}

/** Nix's CompareValues: the `<` order on numbers, strings, paths and lists. */
export function lessThan(state: EvalState, a: Lazy, b: Lazy, pos: Pos | undefined, ctx: string): boolean {
  try {
    const v1 = force(a);
    const v2 = force(b);
    if (v1 instanceof NixFloat && isInt(v2)) return v1.v < Number(v2);
    if (isInt(v1) && v2 instanceof NixFloat) return Number(v1) < v2.v;
    const t1 = kindOf(v1);
    const t2 = kindOf(v2);
    if (t1 !== t2) {
      throw new EvalError(
        `cannot compare ${showType(v1)} with ${showType(v2)}; values are ${printValue(v1, errorPrintOptions)} and ${printValue(v2, errorPrintOptions)}`,
      );
    }
    switch (t1) {
      case 'int':
        // JS compares numbers and bigints exactly, in any mix.
        return (v1 as NixInt) < (v2 as NixInt);
      case 'float':
        return (v1 as NixFloat).v < (v2 as NixFloat).v;
      case 'string':
        return compareBytewise(str(v1), str(v2)) < 0;
      case 'path':
        return compareBytewise((v1 as NixPath).path, (v2 as NixPath).path) < 0;
      case 'list': {
        const l1 = v1 as Lazy[];
        const l2 = v2 as Lazy[];
        for (let i = 0; ; i++) {
          if (i === l2.length) return false;
          if (i === l1.length) return true;
          if (!state.eqValues(l1[i]!, l2[i]!, pos, ctx)) return lessThan(state, l1[i]!, l2[i]!, pos, 'while comparing two list elements');
        }
      }
    }
    throw new EvalError(
      `cannot compare ${showType(v1)} with ${showType(v2)}; values of that type are incomparable (values are ${printValue(v1, errorPrintOptions)} and ${printValue(v2, errorPrintOptions)})`,
    );
  } catch (e) {
    if (ctx !== '' && e instanceof EvalError) e.addTrace(undefined, ctx);
    throw e;
  }
}

function str(v: Value): string {
  return typeof v === 'string' ? v : (v as NixString).s;
}

function kindOf(v: Value): string {
  if (isInt(v)) return 'int';
  if (v instanceof NixFloat) return 'float';
  if (typeof v === 'string' || v instanceof NixString) return 'string';
  if (v instanceof NixPath) return 'path';
  if (Array.isArray(v)) return 'list';
  return 'other';
}

function rounding(name: 'ceil' | 'floor', f: (x: number) => number) {
  return {
    name: `__${name}`,
    arity: 1,
    fn: (args: Lazy[]) => {
      const v = force(args[0]!);
      const x = forceFloat(v, undefined, `while evaluating the first argument passed to builtins.${name}`);
      const r = f(x);
      const wasInt = isInt(v);
      if (!(r >= -9223372036854775808 && r < 9223372036854775808)) {
        if (wasInt) {
          throw new EvalError(
            `Due to a bug (see https://github.com/NixOS/nix/issues/12899) the NixInt argument ${v} caused undefined behavior in previous Nix versions.\n\tFuture Nix versions might implement the correct behavior.`,
          );
        }
        throw new EvalError(`NixFloat argument ${formatFloat(x)} is not in the range of NixInt`);
      }
      const res = BigInt(r);
      if (wasInt && res !== intToBigInt(v)) {
        throw new EvalError(
          `Due to a bug (see https://github.com/NixOS/nix/issues/12899) a loss of precision occurred in previous Nix versions because the NixInt argument ${v} was rounded to ${res}.\n\tFuture Nix versions might implement the correct behavior.`,
        );
      }
      return mkInt(res);
    },
  };
}

function bitOp(name: string, op: (a: bigint, b: bigint) => bigint) {
  return {
    name: `__${name}`,
    arity: 2,
    // On all 64 bits: JS's own bit operators on numbers use only 32.
    fn: (args: Lazy[]) =>
      toInt64(
        op(
          intToBigInt(forceInt(args[0]!, undefined, `while evaluating the first argument passed to builtins.${name}`)),
          intToBigInt(forceInt(args[1]!, undefined, `while evaluating the second argument passed to builtins.${name}`)),
        ),
      ),
  };
}

registerBuiltins([
  arith('__add', 'addition', 'while evaluating the first argument of the addition', (a, b) => checkedAdd(a, b), (a, b) => a + b),
  arith('__sub', 'subtraction', 'while evaluating the first argument of the subtraction', (a, b) => checkedSub(a, b), (a, b) => a - b),
  // Nix's message for the first float operand of a multiplication lacks "argument".
  arith('__mul', 'multiplication', 'while evaluating the first of the multiplication', (a, b) => checkedMul(a, b), (a, b) => a * b),
  {
    name: '__div',
    arity: 2,
    fn: (args) => {
      force(args[0]!);
      force(args[1]!);
      const f2 = forceFloat(args[1]!, undefined, 'while evaluating the second operand of the division');
      if (f2 === 0) throw new EvalError('division by zero');
      if (isFloatOp(args[0]!, args[1]!)) {
        return new NixFloat(forceFloat(args[0]!, undefined, 'while evaluating the first operand of the division') / f2);
      }
      const i1 = forceInt(args[0]!, undefined, 'while evaluating the first operand of the division');
      const i2 = forceInt(args[1]!, undefined, 'while evaluating the second operand of the division');
      return checkedDiv(i1, i2);
    },
  },
  bitOp('bitAnd', (a, b) => a & b),
  bitOp('bitOr', (a, b) => a | b),
  bitOp('bitXor', (a, b) => a ^ b),
  {
    name: '__lessThan',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      force(args[0]!);
      force(args[1]!);
      return lessThan(state, args[0]!, args[1]!, undefined, '');
    },
  },
  rounding('ceil', Math.ceil),
  rounding('floor', Math.floor),
]);
