// List builtins: map, filter, elem, elemAt, head, tail, length, concatLists,
// concatMap, foldl', genList, sort, partition, groupBy, all, any.

import { registerBuiltins } from './registry.js';
import { EvalError } from '../errors.js';
import {
  AppThunk,
  force,
  forceBool,
  forceFunction,
  forceInt,
  forceList,
  forceStringNoCtx,
  lazy,
  Lambda,
  NixAttrs,
  PrimOp,
  type Lazy,
  type Value,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import type { Pos } from '../position.js';
import { lessThan } from './arithmetic.js';

const arg1 = (fn: string) => `while evaluating the first argument passed to builtins.${fn}`;
const arg2 = (fn: string) => `while evaluating the second argument passed to builtins.${fn}`;

/** Nix's Value::determinePos: where a value was defined, when known. */
export function determinePos(v: Value, fallback?: Pos): Pos | undefined {
  if (v instanceof NixAttrs) return v.pos ?? fallback;
  if (v instanceof Lambda) return v.info.pos ?? fallback;
  return fallback;
}

function call1(state: EvalState, f: Value, x: Lazy): Value {
  return state.callFunction1(f, x, undefined);
}

/** A stable merge sort that tolerates inconsistent comparators (output is always a permutation). */
function mergeSort(xs: Lazy[], less: (a: Lazy, b: Lazy) => boolean): Lazy[] {
  if (xs.length <= 1) return xs.slice();
  let a = xs.slice();
  let b = new Array<Lazy>(xs.length);
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) b[k++] = less(a[j]!, a[i]!) ? a[j++]! : a[i++]!;
      while (i < mid) b[k++] = a[i++]!;
      while (j < hi) b[k++] = a[j++]!;
    }
    [a, b] = [b, a];
  }
  return a;
}

function anyOrAll(any: boolean) {
  const name = any ? 'any' : 'all';
  return {
    name: `__${name}`,
    arity: 2,
    fn: (args: Lazy[], _pos: Pos | undefined, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, arg1(name));
      const xs = forceList(args[1]!, undefined, arg2(name));
      const ctx = `while evaluating the return value of the function passed to builtins.${name}`;
      for (const x of xs) {
        if (forceBool(call1(state, f, x), undefined, ctx) === any) return any;
      }
      return !any;
    },
  };
}

registerBuiltins([
  {
    name: 'map',
    arity: 2,
    fn: (args) => {
      const xs = forceList(args[1]!, undefined, arg2('map'));
      if (xs.length === 0) return xs;
      const f = forceFunction(args[0]!, undefined, arg1('map'));
      const out: Lazy[] = new Array(xs.length);
      for (let i = 0; i < xs.length; i++) out[i] = new AppThunk(f, xs[i]!);
      return out;
    },
  },
  {
    name: '__filter',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const xs = forceList(args[1]!, undefined, arg2('filter'));
      if (xs.length === 0) return xs;
      const f = forceFunction(args[0]!, undefined, arg1('filter'));
      const out: Lazy[] = [];
      for (const x of xs) {
        if (forceBool(call1(state, f, x), undefined, 'while evaluating the return value of the filtering function passed to builtins.filter')) {
          out.push(x);
        }
      }
      return out.length === xs.length ? xs : out;
    },
  },
  {
    name: '__elem',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const xs = forceList(args[1]!, undefined, arg2('elem'));
      for (const x of xs) {
        if (state.eqValues(args[0]!, x, undefined, 'while searching for the presence of the given element in the list')) return true;
      }
      return false;
    },
  },
  {
    name: '__elemAt',
    arity: 2,
    fn: (args) => {
      const n = forceInt(args[1]!, undefined, "while evaluating the second argument passed to 'builtins.elemAt'");
      const xs = forceList(args[0]!, undefined, "while evaluating the first argument passed to 'builtins.elemAt'");
      if (n < 0 || n >= xs.length) throw new EvalError(`'builtins.elemAt' called with index ${n} on a list of size ${xs.length}`);
      return force(xs[Number(n)]!);
    },
  },
  {
    name: '__head',
    arity: 1,
    fn: (args) => {
      const xs = forceList(args[0]!, undefined, "while evaluating the first argument passed to 'builtins.head'");
      if (xs.length === 0) throw new EvalError("'builtins.head' called on an empty list");
      return force(xs[0]!);
    },
  },
  {
    name: '__tail',
    arity: 1,
    fn: (args) => {
      const xs = forceList(args[0]!, undefined, "while evaluating the first argument passed to 'builtins.tail'");
      if (xs.length === 0) throw new EvalError("'builtins.tail' called on an empty list");
      return xs.slice(1);
    },
  },
  {
    name: '__length',
    arity: 1,
    fn: (args) => forceList(args[0]!, undefined, arg1('length')).length,
  },
  {
    name: '__concatLists',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const xs = forceList(args[0]!, undefined, arg1('concatLists'));
      return state.concatLists(xs, undefined, 'while evaluating a value of the list passed to builtins.concatLists');
    },
  },
  {
    name: '__concatMap',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, arg1('concatMap'));
      const xs = forceList(args[1]!, undefined, arg2('concatMap'));
      const lists: Lazy[][] = [];
      for (const x of xs) {
        const r = call1(state, f, x);
        lists.push(forceList(r, determinePos(r, determinePos(f)), 'while evaluating the return value of the function passed to builtins.concatMap'));
      }
      return ([] as Lazy[]).concat(...lists);
    },
  },
  {
    name: "__foldl'",
    arity: 3,
    fn: (args, _pos, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, "while evaluating the first argument passed to builtins.foldlStrict");
      const xs = forceList(args[2]!, undefined, "while evaluating the third argument passed to builtins.foldlStrict");
      if (xs.length === 0) return force(args[1]!);
      let acc: Lazy = args[1]!;
      for (const x of xs) acc = state.callFunction2(f, acc, x, undefined);
      return acc as Value;
    },
  },
  anyOrAll(true),
  anyOrAll(false),
  {
    name: '__genList',
    arity: 2,
    fn: (args) => {
      const n = forceInt(args[1]!, undefined, arg2('genList'));
      if (n < 0) throw new EvalError(`cannot create list of size ${n}`);
      const f = forceFunction(args[0]!, undefined, arg1('genList'));
      const len = Number(n);
      const out: Lazy[] = new Array(len);
      for (let i = 0; i < len; i++) out[i] = new AppThunk(f, i);
      return out;
    },
  },
  {
    name: '__sort',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const xs = forceList(args[1]!, undefined, arg2('sort'));
      if (xs.length === 0) return xs;
      const f = forceFunction(args[0]!, undefined, arg1('sort'));
      for (const x of xs) force(x);
      const isLessThan = f instanceof PrimOp && f.name === 'lessThan';
      const less = isLessThan
        ? (a: Lazy, b: Lazy) => lessThan(state, a, b, undefined, 'while evaluating the ordering function passed to builtins.sort')
        : (a: Lazy, b: Lazy) =>
            forceBool(
              state.callFunction2(f, a, b, undefined),
              undefined,
              'while evaluating the return value of the sorting function passed to builtins.sort',
            );
      return mergeSort(xs, less);
    },
  },
  {
    name: '__partition',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, arg1('partition'));
      const xs = forceList(args[1]!, undefined, arg2('partition'));
      const right: Lazy[] = [];
      const wrong: Lazy[] = [];
      for (const x of xs) {
        force(x);
        if (forceBool(call1(state, f, x), undefined, 'while evaluating the return value of the partition function passed to builtins.partition')) right.push(x);
        else wrong.push(x);
      }
      return new NixAttrs(new Map<string, Lazy>([['right', right], ['wrong', wrong]]));
    },
  },
  {
    name: '__groupBy',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, arg1('groupBy'));
      const xs = forceList(args[1]!, undefined, arg2('groupBy'));
      const groups = new Map<string, Lazy[]>();
      for (const x of xs) {
        const name = forceStringNoCtx(call1(state, f, x), undefined, 'while evaluating the return value of the grouping function passed to builtins.groupBy');
        let g = groups.get(name);
        if (!g) groups.set(name, (g = []));
        g.push(x);
      }
      return new NixAttrs(groups as Map<string, Lazy>);
    },
  },
]);

export { lazy };
