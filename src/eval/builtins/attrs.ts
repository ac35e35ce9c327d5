// Attribute-set builtins: attrNames, attrValues, getAttr, hasAttr,
// removeAttrs, listToAttrs, intersectAttrs, catAttrs, mapAttrs,
// zipAttrsWith, genericClosure, functionArgs, unsafeGetAttrPos.

import { registerBuiltins } from './registry.js';
import { TypeError } from '../errors.js';
import {
  attrsWithPositionsOf,
  force,
  forceAttrs,
  forceFunction,
  forceList,
  forceStringNoCtx,
  AppThunk,
  Lambda,
  NixAttrs,
  Shape,
  type LambdaInfo,
  PrimOp,
  PrimOpApp,
  type Lazy,
  type Value,
  removeByLayer,
  requireAttr,
} from '../values.js';
import { printValue, errorPrintOptions } from '../print-value.js';
import type { EvalState } from '../eval-state.js';
import type { Pos } from '../position.js';
import { lessThan } from './arithmetic.js';

/** functionArgs' names (with the formals' positions) and values, per lambda. */
const functionArgsOf = new WeakMap<LambdaInfo, { shape: Shape; vals: Lazy[] }>();

const arg1 = (fn: string) => `while evaluating the first argument passed to builtins.${fn}`;
const arg2 = (fn: string) => `while evaluating the second argument passed to builtins.${fn}`;


function withPositions(m: Map<string, Lazy>, p: Map<string, Pos> | null): NixAttrs {
  return new NixAttrs(m, p && p.size > 0 ? p : null);
}

function listToAttrsElem(x: Lazy): NixAttrs {
  return forceAttrs(x, undefined, 'while evaluating an element of the list passed to builtins.listToAttrs');
}

function listToAttrsName(e: NixAttrs): string {
  const n = requireAttr(e, 'name', 'in a {name=...; value=...;} pair');
  return forceStringNoCtx(n, e.posOf('name'), 'while evaluating the `name` attribute of an element of the list passed to builtins.listToAttrs');
}

/**
 * listToAttrs when some element has no `value` (an error only if that
 * element is the first with its name): as Nix, every name is forced first,
 * then the elements are taken in name order, the first of each name winning.
 */
function listToAttrsSorted(xs: Lazy[]): NixAttrs {
  const order: { name: string; elem: NixAttrs; i: number }[] = [];
  for (let i = 0; i < xs.length; i++) {
    const elem = listToAttrsElem(xs[i]!);
    order.push({ name: listToAttrsName(elem), elem, i });
  }
  order.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i));
  const m = new Map<string, Lazy>();
  const p = new Map<string, Pos>();
  for (const { name, elem } of order) {
    if (m.has(name)) continue;
    m.set(name, requireAttr(elem, 'value', 'in a {name=...; value=...;} pair'));
    const ps = elem.posOf('value');
    if (ps) p.set(name, ps);
  }
  return withPositions(m, p);
}

registerBuiltins([
  {
    name: '__attrNames',
    arity: 1,
    fn: (args) => forceAttrs(args[0]!, undefined, 'while evaluating the argument passed to builtins.attrNames').keys().slice(),
  },
  {
    name: '__attrValues',
    arity: 1,
    fn: (args) => {
      const a = forceAttrs(args[0]!, undefined, 'while evaluating the argument passed to builtins.attrValues');
      return a.keys().map((k) => a.get(k)!);
    },
  },
  {
    name: '__getAttr',
    arity: 2,
    fn: (args) => {
      const name = forceStringNoCtx(args[0]!, undefined, arg1('getAttr'));
      const a = forceAttrs(args[1]!, undefined, arg2('getAttr'));
      return force(requireAttr(a, name, 'in the attribute set under consideration'));
    },
  },
  {
    name: '__hasAttr',
    arity: 2,
    fn: (args) => {
      const name = forceStringNoCtx(args[0]!, undefined, arg1('hasAttr'));
      return forceAttrs(args[1]!, undefined, arg2('hasAttr')).has(name);
    },
  },
  {
    name: '__unsafeGetAttrPos',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const name = forceStringNoCtx(args[0]!, undefined, arg1('unsafeGetAttrPos'));
      const a = forceAttrs(args[1]!, undefined, arg2('unsafeGetAttrPos'));
      if (!a.has(name)) return null;
      return state.mkPos(a.posOf(name));
    },
  },
  {
    name: 'removeAttrs',
    arity: 2,
    fn: (args) => {
      const a = forceAttrs(args[0]!, undefined, arg1('removeAttrs'));
      const names = forceList(args[1]!, undefined, arg2('removeAttrs'));
      // Indexed loops and no Set for the usual short list: mkDerivation
      // calls this once per package, mostly before V8 optimizes it.
      const remove: string[] = [];
      let any = false;
      for (let i = 0; i < names.length; i++) {
        const n = forceStringNoCtx(names[i]!, undefined, 'while evaluating the values of the second argument passed to builtins.removeAttrs');
        remove.push(n);
        if (!any && a.has(n)) any = true;
      }
      if (!any) return a;
      const sub = a.withoutNames(remove) ?? removeByLayer(a, remove);
      if (sub !== undefined) return sub;
      // Sets keep no order of their own (keys() sorts), so copy the flat
      // entries as they are; their positions stay those of `a`.
      const removed = new Set(remove);
      const m = new Map<string, Lazy>();
      a.flat().forEach((v, k) => {
        if (!removed.has(k)) m.set(k, v);
      });
      return attrsWithPositionsOf(m, a);
    },
  },
  {
    name: '__listToAttrs',
    arity: 1,
    fn: (args) => {
      const xs = forceList(args[0]!, undefined, 'while evaluating the argument passed to builtins.listToAttrs');
      // Usually every element has a `value`: then the first of each name
      // wins, which list order gives directly, in one pass without sorting.
      const fm = new Map<string, Lazy>();
      const fp = new Map<string, Pos>();
      for (let i = 0; i < xs.length; i++) {
        const e = listToAttrsElem(xs[i]!);
        const name = listToAttrsName(e);
        const v = e.get('value');
        if (v === undefined) return listToAttrsSorted(xs);
        if (fm.has(name)) continue;
        fm.set(name, v);
        const ps = e.posOf('value');
        if (ps) fp.set(name, ps);
      }
      return withPositions(fm, fp);
    },
  },
  {
    name: '__intersectAttrs',
    arity: 2,
    fn: (args) => {
      const l = forceAttrs(args[0]!, undefined, arg1('intersectAttrs'));
      const r = forceAttrs(args[1]!, undefined, arg2('intersectAttrs'));
      // Values (and so positions) come from the right-hand set, as in Nix.
      const m = new Map<string, Lazy>();
      // One lookup per name of the smaller set.
      if (l.size < r.size) {
        const s = l.intersectedFrom(r);
        if (s !== undefined) return s;
        // A set without layers (callPackage's functionArgs, a literal) is
        // read as it is: flat() would copy a literal's names into a Map.
        for (const k of l.base === null ? l.ownNames() : l.flat().keys()) {
          const v = r.get(k);
          if (v !== undefined) m.set(k, v);
        }
      } else {
        for (const [k, v] of r.flat()) if (l.has(k)) m.set(k, v);
      }
      return attrsWithPositionsOf(m, r);
    },
  },
  {
    name: '__catAttrs',
    arity: 2,
    fn: (args) => {
      const name = forceStringNoCtx(args[0]!, undefined, arg1('catAttrs'));
      const xs = forceList(args[1]!, undefined, arg2('catAttrs'));
      const out: Lazy[] = [];
      for (const x of xs) {
        const a = forceAttrs(x, undefined, 'while evaluating an element in the list passed as second argument to builtins.catAttrs');
        const v = a.get(name);
        if (v !== undefined) out.push(v);
      }
      return out;
    },
  },
  {
    name: '__functionArgs',
    arity: 1,
    fn: (args) => {
      const f = force(args[0]!);
      if (f instanceof PrimOp || f instanceof PrimOpApp) return NixAttrs.empty;
      if (!(f instanceof Lambda)) throw new TypeError("'functionArgs' requires a function");
      const formals = f.info.formals;
      if (!formals || formals.length === 0) return NixAttrs.empty;
      // A new set per call (the printer's «repeated» shows sharing), built on
      // a Shape and values made once per lambda: callPackage asks for these
      // once per package.
      let c = functionArgsOf.get(f.info);
      if (c === undefined) {
        c = { shape: new Shape(formals.map((fm) => fm.name), formals.map((fm) => fm.pos)), vals: formals.map((fm) => fm.def !== null) };
        functionArgsOf.set(f.info, c);
      }
      return NixAttrs.fromShape(c.shape, c.vals);
    },
  },
  {
    name: '__mapAttrs',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const a = forceAttrs(args[1]!, undefined, arg2('mapAttrs'));
      const f = args[0]!;
      return a.mapValues((k, v) => new AppThunk(new AppThunk(f, k), v));
    },
  },
  {
    name: '__zipAttrsWith',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const f = forceFunction(args[0]!, undefined, arg1('zipAttrsWith'));
      const xs = forceList(args[1]!, undefined, arg2('zipAttrsWith'));
      const seen = new Map<string, Lazy[]>();
      for (const x of xs) {
        const a = forceAttrs(x, undefined, 'while evaluating a value of the list passed as second argument to builtins.zipAttrsWith');
        for (const k of a.keys()) {
          let l = seen.get(k);
          if (!l) seen.set(k, (l = []));
          l.push(a.get(k)!);
        }
      }
      const m = new Map<string, Lazy>();
      for (const [k, l] of seen) m.set(k, new AppThunk(new AppThunk(f, k), l));
      return new NixAttrs(m);
    },
  },
  {
    name: '__genericClosure',
    arity: 1,
    fn: (args, _pos, state: EvalState) => genericClosure(state, args[0]!),
  },
]);

function genericClosure(state: EvalState, arg: Lazy): Value {
  const a = forceAttrs(arg, undefined, arg1('genericClosure'));
  const startSet = requireAttr(a, 'startSet', 'in the attrset passed as argument to builtins.genericClosure');
  const start = forceList(startSet, undefined, "while evaluating the 'startSet' attribute passed as argument to builtins.genericClosure");
  if (start.length === 0) return start;
  const op = requireAttr(a, 'operator', 'in the attrset passed as argument to builtins.genericClosure');
  const opf = forceFunction(op, undefined, "while evaluating the 'operator' attribute passed as argument to builtins.genericClosure");
  const show = (v: Lazy) => printValue(v, errorPrintOptions);
  const work: Lazy[] = start.slice();
  const res: Lazy[] = [];
  // Keys kept sorted by Nix's `<` so lookups are binary searches, as Nix's std::map does.
  const keys: { key: Lazy; elem: Lazy }[] = [];
  const less = (x: Lazy, y: Lazy) => lessThan(state, x, y, undefined, '');
  let head = 0;
  while (head < work.length) {
    const e = work[head++]!;
    let ea: NixAttrs;
    try {
      ea = forceAttrs(e, undefined, '');
    } catch (err) {
      if (err instanceof Error && 'addTrace' in err) (err as any).addTrace(undefined, `in genericClosure element ${show(e)}`);
      throw err;
    }
    let key: Lazy;
    try {
      key = requireAttr(ea, 'key', '');
    } catch (err) {
      (err as any).addTrace?.(undefined, `in genericClosure element ${show(e)}`);
      throw err;
    }
    force(key);
    let inserted = false;
    try {
      let lo = 0;
      let hi = keys.length;
      let found = false;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (less(key, keys[mid]!.key)) hi = mid;
        else if (less(keys[mid]!.key, key)) lo = mid + 1;
        else {
          found = true;
          break;
        }
      }
      if (!found) {
        keys.splice(lo, 0, { key, elem: e });
        inserted = true;
      }
    } catch (err) {
      let other: Lazy | undefined;
      for (const k of keys) {
        try {
          less(key, k.key);
        } catch {
          other = k.elem;
          break;
        }
      }
      if (other !== undefined) {
        (err as any).addTrace?.(undefined, `with element ${show(other)}`);
        (err as any).addTrace?.(undefined, `while comparing element ${show(e)}`);
      } else (err as any).addTrace?.(undefined, `while checking key of element ${show(e)}`);
      throw err;
    }
    if (!inserted) continue;
    res.push(e);
    try {
      const r = state.callFunction(opf, [e], undefined);
      const xs = forceList(r, undefined, 'while evaluating the return value of the `operator` passed to builtins.genericClosure');
      for (const x of xs) {
        force(x);
        work.push(x);
      }
    } catch (err) {
      (err as any).addTrace?.(undefined, `while calling operator on genericClosure element ${show(e)}`);
      throw err;
    }
  }
  return res;
}
