// Compiles the AST of one file into JS closures `(env) => Value`.
//
// Scoping is resolved here, once: every variable bound by let, a lambda, rec
// or inherit becomes an (env depth, slot) pair, so evaluation never looks a
// name up in a map. Only variables that can come from `with` are looked up
// at run time. Undefined variables are reported at compile time, as Nix does
// when it binds variables after parsing.
//
// Runtime environments are arrays: slot 0 is the enclosing environment, the
// scope's variables follow. A `with` scope has one variable: its attribute
// set (lazy).

import type * as A from './ast.js';
import { AssertionError, EvalError, NixError, StackOverflowError, TypeError, UndefinedVarError } from './errors.js';

const inlinePrimops = new Set(['__sub', '__mul', '__div', '__lessThan']);

/**
 * The common cases of the inlined primops: two integers (the checked
 * operations the primops use, fast for safe integers) or two floats;
 * undefined means "let the primop decide" (mixed operands, division by zero).
 */
const directArith: Record<string, (a: Value, b: Value) => Value | undefined> = {
  // Two JS numbers first, tested inline: these run for every arithmetic
  // operation, much of it before V8 has optimized (and inlined) isInt.
  __sub: (a, b) => {
    if ((typeof a === 'number' && typeof b === 'number') || (isInt(a) && isInt(b))) return checkedSub(a, b);
    if (a instanceof NixFloat && b instanceof NixFloat) return new NixFloat(a.v - b.v);
    return undefined;
  },
  __mul: (a, b) => {
    if ((typeof a === 'number' && typeof b === 'number') || (isInt(a) && isInt(b))) return checkedMul(a, b);
    if (a instanceof NixFloat && b instanceof NixFloat) return new NixFloat(a.v * b.v);
    return undefined;
  },
  __div: (a, b) => {
    if (typeof a === 'number' && typeof b === 'number' && b !== 0) return checkedDiv(a, b);
    if (isInt(a) && isInt(b) && b != 0) return checkedDiv(a, b); // eslint-disable-line eqeqeq -- either int form
    if (a instanceof NixFloat && b instanceof NixFloat && b.v !== 0) return new NixFloat(a.v / b.v);
    return undefined;
  },
  __lessThan: (a, b) => {
    if ((typeof a === 'number' && typeof b === 'number') || (isInt(a) && isInt(b))) return a < b;
    if (a instanceof NixFloat && b instanceof NixFloat) return a.v < b.v;
    return undefined;
  },
};

import type { Pos } from './position.js';
import {
  checkedAdd,
  checkedDiv,
  checkedMul,
  checkedSub,
  force,
  forceAttrs,
  forceList,
  forceStringNoCtx,
  isInt,
  Lambda,
  mkInt,
  mkString,
  NixAttrs,
  NixFloat,
  NixPath,
  PrimOp,
  Shape,
  showType,
  showValueHook,
  stats,
  Thunk,
  updateAttrs,
  type Code,
  type Env,
  type FormalInfo,
  type Lazy,
  type LambdaInfo,
  type NixInt,
  type Value,
} from './values.js';
import type { EvalState } from './eval-state.js';
import { internSymbol } from './symbols.js';
import { concatBytes, rawBytesSeen } from '../byte-strings.js';
import { printAttributeName } from './literal-strings.js';

/** Makes the lazy value of an expression in an environment (Nix's maybeThunk). */
type MkLazy = (env: Env) => Lazy;

interface Compiled {
  code: Code;
  lazy: MkLazy;
}

/** A compile-time scope; each corresponds to exactly one runtime Env level. */
interface Scope {
  up: Scope | null;
  /** For a static scope: name → slot index (from 1). */
  vars: Map<string, number> | null;
  /** For a `with` scope: the position of the `with`. */
  withPos?: Pos;
}

export function staticScope(names: Iterable<string>, up: Scope | null): Scope {
  const vars = new Map<string, number>();
  let i = 1;
  for (const n of names) vars.set(n, i++);
  return { up, vars };
}

export type { Scope };

/** Adds a trace frame to a Nix error (JS errors pass through untouched). */
function addTrace(e: unknown, pos: Pos | undefined, hint: string): unknown {
  if (e instanceof NixError) e.addTrace(pos, hint);
  return e;
}

/** Nix's Expr::eval(…, errorCtx): evaluate, adding `ctx` at the expression's position on failure. */
function evalCtx(code: Code, env: Env, pos: Pos | undefined, ctx: string): Value {
  try {
    return code(env);
  } catch (e) {
    throw addTrace(e, pos, ctx);
  }
}

function evalBool(code: Code, env: Env, pos: Pos | undefined, ctx: string): boolean {
  try {
    const v = code(env);
    if (typeof v !== 'boolean') {
      throw new TypeError(`expected a Boolean but found ${showType(v)}: ${showValueHook(v)}`, pos);
    }
    return v;
  } catch (e) {
    throw addTrace(e, pos, ctx);
  }
}

function envAt(env: Env, depth: number): Env {
  let e = env;
  for (let d = depth; d > 0; d--) e = e[0] as Env;
  return e;
}

export class Compiler {
  constructor(
    readonly state: EvalState,
    /** Renders an expression as Nix's `show` does (for assertion messages and attribute paths). */
    readonly showExpr: (e: A.Expr) => string,
  ) {}

  /** Number of expressions compiled (NIX_SHOW_STATS nrExprs). */
  nrExprs = 0;

  compile(e: A.Expr, scope: Scope): Compiled {
    this.nrExprs++;
    switch (e.kind) {
      case 'Int': {
        const v = mkInt(e.value);
        return { code: () => v, lazy: () => v };
      }
      case 'Float': {
        const v = new NixFloat(e.value);
        return { code: () => v, lazy: () => v };
      }
      case 'String': {
        const v: Value = e.value;
        return { code: () => v, lazy: () => v };
      }
      case 'Path': {
        const v = new NixPath(e.value);
        return { code: () => v, lazy: () => v };
      }
      case 'Var':
        return this.compileVar(e, scope);
      case 'InheritFrom': {
        const i = e.index + 1;
        const pos = e.pos;
        const code: Code = (env) => force(env[i] as Lazy, pos);
        return { code, lazy: (env) => env[i] as Lazy };
      }
      case 'Select':
        return this.thunked(this.compileSelect(e, scope));
      case 'OpHasAttr':
        return this.thunked(this.compileHasAttr(e, scope));
      case 'Attrs':
        return this.thunked(this.compileAttrs(e, scope));
      case 'List':
        return this.compileList(e, scope);
      case 'Lambda':
        return this.compileLambda(e, scope);
      case 'Call':
        return this.thunked(this.compileCall(e, scope));
      case 'Let':
        return this.thunked(this.compileLet(e, scope));
      case 'With':
        return this.thunked(this.compileWith(e, scope));
      case 'If':
        return this.thunked(this.compileIf(e, scope));
      case 'Assert':
        return this.thunked(this.compileAssert(e, scope));
      case 'OpNot': {
        const c = this.compile(e.e, scope).code;
        const p = e.e.pos;
        return this.thunked((env) => !evalBool(c, env, p, "in the argument of '!'"));
      }
      case 'BinOp':
        return this.thunked(this.compileBinOp(e, scope));
      case 'ConcatStrings':
        return this.thunked(this.compileConcat(e, scope));
      case 'Pos': {
        const state = this.state;
        const pos = e.pos;
        return this.thunked(() => state.mkPos(pos));
      }
    }
  }

  private thunked(code: Code): Compiled {
    return {
      code,
      lazy: (env) => {
        stats.nrThunks++;
        return new Thunk(code, env);
      },
    };
  }

  // -------------------------------------------------------------------------
  // Variables

  private compileVar(e: A.ExprVar, scope: Scope): Compiled {
    const name = e.name;
    internSymbol(name);
    const pos = e.pos;
    let depth = 0;
    const withDepths: number[] = [];
    const withPositions: (Pos | undefined)[] = [];
    for (let s: Scope | null = scope; s; s = s.up, depth++) {
      if (s.vars === null) {
        withDepths.push(depth);
        withPositions.push(s.withPos);
        continue;
      }
      const idx = s.vars.get(name);
      if (idx !== undefined) return this.staticVar(depth, idx, pos);
    }
    if (withDepths.length === 0) throw new UndefinedVarError(`undefined variable '${name}'`, pos);
    const code: Code = (env) => {
      stats.nrLookups++;
      for (let k = 0; k < withDepths.length; k++) {
        const wenv = envAt(env, withDepths[k]!);
        const attrs = forceAttrs(wenv[1] as Lazy, withPositions[k], 'while evaluating the first subexpression of a with expression');
        const v = attrs.get(name);
        if (v !== undefined) return force(v, pos);
      }
      throw new UndefinedVarError(`undefined variable '${name}'`, pos);
    };
    return this.thunked(code);
  }

  private staticVar(depth: number, idx: number, pos: Pos | undefined): Compiled {
    let code: Code;
    let get: (env: Env) => Lazy;
    switch (depth) {
      case 0:
        get = (env) => env[idx] as Lazy;
        code = (env) => {
          const v = env[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
        break;
      case 1:
        get = (env) => (env[0] as Env)[idx] as Lazy;
        code = (env) => {
          const v = (env[0] as Env)[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
        break;
      case 2:
        get = (env) => ((env[0] as Env)[0] as Env)[idx] as Lazy;
        code = (env) => {
          const v = ((env[0] as Env)[0] as Env)[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
        break;
      case 3:
        get = (env) => (((env[0] as Env)[0] as Env)[0] as Env)[idx] as Lazy;
        code = (env) => {
          const v = (((env[0] as Env)[0] as Env)[0] as Env)[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
        break;
      case 4:
        get = (env) => ((((env[0] as Env)[0] as Env)[0] as Env)[0] as Env)[idx] as Lazy;
        code = (env) => {
          const v = ((((env[0] as Env)[0] as Env)[0] as Env)[0] as Env)[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
        break;
      default:
        get = (env) => envAt(env, depth)[idx] as Lazy;
        code = (env) => {
          const v = envAt(env, depth)[idx] as Lazy;
          return v instanceof Thunk ? v.force(pos) : v;
        };
    }
    const lazy: MkLazy = (env) => {
      const v = get(env);
      if (v !== undefined) {
        stats.nrAvoided++;
        return v;
      }
      stats.nrThunks++;
      return new Thunk(code, env);
    };
    return { code, lazy };
  }

  // -------------------------------------------------------------------------
  // Attribute names and selection

  /** A static name, or code computing a dynamic one (forced to a string without context). */
  private compileAttrName(n: A.AttrName, scope: Scope): string | ((env: Env) => string) {
    if (n.name !== undefined) {
      internSymbol(n.name);
      return n.name;
    }
    const c = this.compile(n.expr, scope).code;
    const p = n.expr.pos;
    return (env) => forceStringNoCtx(c(env), p, 'while evaluating an attribute name');
  }

  private showAttrPath(path: A.AttrName[], names: (string | ((env: Env) => string))[], env: Env, upTo = names.length): string {
    const parts: string[] = [];
    for (let i = 0; i < upTo; i++) {
      const n = names[i]!;
      // Names as Nix prints a symbol: quoted unless they are identifiers.
      if (typeof n === 'string') parts.push(printAttributeName(n));
      else {
        try {
          parts.push(printAttributeName(n(env)));
        } catch {
          parts.push(`"\${${this.showExpr(path[i]!.expr!)}}"`);
        }
      }
    }
    return parts.join('.');
  }

  private compileSelect(e: A.ExprSelect, scope: Scope): Code {
    const base = this.compile(e.e, scope).code;
    const basePos = e.e.pos;
    const names = e.attrPath.map((n) => this.compileAttrName(n, scope));
    const def = e.def ? this.compile(e.def, scope).code : null;
    const pos = e.pos;
    const path = e.attrPath;
    const state = this.state;
    const n = names.length;
    // The common case `x.name` gets a lean path. Attribute positions are
    // only looked up when an error needs them.
    if (n === 1 && typeof names[0] === 'string' && def === null) {
      const name = names[0];
      return (env) => {
        // evalCtx written out (here and in `==`, `!=` and `+` below): these
        // are among the most run closures, much of it before V8 has
        // optimized (and inlined) anything.
        let v0: Value;
        try {
          v0 = base(env);
        } catch (err) {
          throw addTrace(err, basePos, 'while selecting an attribute');
        }
        let found: NixAttrs | undefined;
        try {
          stats.nrLookups++;
          const attrs = v0 instanceof NixAttrs ? v0 : forceAttrs(v0, pos, 'while selecting an attribute');
          const j = attrs.get(name);
          if (j === undefined) throw state.missingAttrError(name, attrs, pos);
          found = attrs;
          if (!(j instanceof Thunk)) return j;
          if (j.forced) return j.force();
          return j.force(j.blackholed ? (attrs.posOf(name) ?? pos) : undefined);
        } catch (err) {
          if (err instanceof NixError) {
            const attrPos = found?.posOf(name);
            if (attrPos && !state.isDerivationInternal(attrPos)) err.addTrace(attrPos, `from the definition of '${printAttributeName(name)}'`);
            err.addTrace(pos, `while evaluating the attribute '${printAttributeName(name)}'`);
          }
          throw err;
        }
      };
    }
    return (env) => {
      const v0 = evalCtx(base, env, basePos, 'while selecting an attribute');
      let lastAttrs: NixAttrs | undefined;
      let lastName = '';
      let resolved = 0;
      let cur: Lazy = v0;
      try {
        for (let i = 0; i < n; i++) {
          stats.nrLookups++;
          const nm = names[i]!;
          const name = typeof nm === 'string' ? nm : nm(env);
          let j: Lazy | undefined;
          if (def !== null) {
            const v = force(cur, pos);
            if (!(v instanceof NixAttrs) || (j = v.get(name)) === undefined) return def(env);
            lastAttrs = v;
          } else {
            const attrs = forceAttrs(cur, pos, 'while selecting an attribute');
            j = attrs.get(name);
            if (j === undefined) throw state.missingAttrError(name, attrs, pos);
            lastAttrs = attrs;
          }
          lastName = name;
          cur = j;
          resolved = i + 1;
        }
        if (!(cur instanceof Thunk)) return cur;
        if (cur.forced) return cur.force();
        return cur.force(cur.blackholed ? (lastAttrs!.posOf(lastName) ?? pos) : undefined);
      } catch (err) {
        if (err instanceof NixError) {
          const attrPos = lastAttrs?.posOf(lastName);
          if (attrPos && !state.isDerivationInternal(attrPos)) {
            err.addTrace(attrPos, `from the definition of '${this.showAttrPath(path, names, env, resolved)}'`);
          }
          err.addTrace(pos, `while evaluating the attribute '${this.showAttrPath(path, names, env)}'`);
        }
        throw err;
      }
    };
  }

  private compileHasAttr(e: A.ExprOpHasAttr, scope: Scope): Code {
    const base = this.compile(e.e, scope).code;
    const basePos = e.e.pos;
    const names = e.attrPath.map((n) => this.compileAttrName(n, scope));
    const pos = e.pos;
    return (env) => {
      let cur: Lazy = evalCtx(base, env, basePos, "in the argument of '?'");
      for (const nm of names) {
        const v = force(cur, pos);
        const name = typeof nm === 'string' ? nm : nm(env);
        let j: Lazy | undefined;
        if (v instanceof NixAttrs && (j = v.get(name)) !== undefined) cur = j;
        else return false;
      }
      return true;
    };
  }

  // -------------------------------------------------------------------------
  // Attribute sets, let

  /** Positions of the static attributes, shared by every instance of the set. */
  private staticPositions(attrs: Map<string, A.AttrDef>): Map<string, Pos> | null {
    let p: Map<string, Pos> | null = null;
    for (const [name, def] of attrs) if (def.pos) (p ??= new Map()).set(name, def.pos);
    return p;
  }

  private compileAttrs(e: A.ExprAttrs, scope: Scope): Code {
    const state = this.state;
    const staticPos = this.staticPositions(e.attrs);
    const names = [...e.attrs.keys()];
    const setPos = e.pos;
    const inner = e.recursive ? staticScope(names, scope) : scope;
    const inheritScope: Scope | null = e.inheritFromExprs ? staticScope(e.inheritFromExprs.map(() => ''), inner) : null;
    const inheritFrom = e.inheritFromExprs?.map((x) => this.compile(x, inner).lazy) ?? null;
    const defs = names.map((name) => {
      internSymbol(name);
      const d = e.attrs.get(name)!;
      const s = d.kind === 'inherited' ? scope : d.kind === 'inheritedFrom' ? inheritScope! : inner;
      const c = this.compile(d.e, s);
      return { kind: d.kind, lazy: c.lazy, code: c.code };
    });
    const dynamic = e.dynamicAttrs.map((d) => ({
      name: this.compile(d.nameExpr, inner).code,
      value: this.compile(d.valueExpr, inner).lazy,
      pos: d.pos,
    }));
    const overridesIdx = e.recursive ? names.indexOf('__overrides') : -1;
    const nStatic = names.length;

    const finish = (m: Map<string, Lazy>, p: Map<string, Pos> | null, dynEnv: Env): Value => {
      if (dynamic.length > 0) {
        let copied = false;
        for (const d of dynamic) {
          const nv = force(d.name(dynEnv), d.pos);
          if (nv === null) continue;
          const name = forceStringNoCtx(nv, d.pos, 'while evaluating the name of a dynamic attribute');
          if (m.has(name)) {
            const prev = p?.get(name);
            throw new EvalError(`dynamic attribute '${printAttributeName(name)}' already defined at ${prev ? state.showPos(prev) : '«unknown»'}`, d.pos);
          }
          m.set(name, d.value(dynEnv));
          if (d.pos) {
            if (!copied) {
              p = new Map(p ?? []);
              copied = true;
            }
            p!.set(name, d.pos);
          }
        }
      }
      stats.nrAttrsets++;
      stats.nrAttrsInAttrsets += m.size;
      if (m.size === 0) {
        const r = new NixAttrs(m, null);
        r.pos = setPos;
        return r;
      }
      const r = new NixAttrs(m, p);
      r.pos = setPos;
      return r;
    };

    // Sets without dynamic attributes share one Shape; instances hold only values.
    const shapePositions = names.map((n) => e.attrs.get(n)!.pos);
    const shapePos = shapePositions.some((x) => x !== undefined) ? shapePositions : null;
    if (dynamic.length === 0 && nStatic > 0 && !e.recursive) {
      const shape = new Shape(names, shapePos);
      return (env) => {
        const ienv = inheritFromEnv(env, inheritFrom);
        const vals: Lazy[] = new Array(nStatic);
        for (let i = 0; i < nStatic; i++) {
          const d = defs[i]!;
          vals[i] = d.lazy(d.kind === 'inheritedFrom' ? ienv! : env);
        }
        stats.nrAttrsets++;
        stats.nrAttrsInAttrsets += nStatic;
        const r = NixAttrs.fromShape(shape, vals);
        r.pos = setPos;
        return r;
      };
    }
    if (dynamic.length === 0 && nStatic > 0 && overridesIdx < 0) {
      // A `rec` set's environment holds exactly its values (after the parent link).
      const shape = new Shape(names, shapePos, 1);
      return (env) => {
        const env2 = recursiveEnv(env, defs, inheritFrom);
        stats.nrAttrsets++;
        stats.nrAttrsInAttrsets += nStatic;
        const r = NixAttrs.fromShape(shape, env2 as Lazy[]);
        r.pos = setPos;
        return r;
      };
    }

    if (!e.recursive) {
      return (env) => {
        const ienv = inheritFromEnv(env, inheritFrom);
        const m = new Map<string, Lazy>();
        for (let i = 0; i < nStatic; i++) {
          const d = defs[i]!;
          m.set(names[i]!, d.lazy(d.kind === 'inheritedFrom' ? ienv! : env));
        }
        return finish(m, staticPos, env);
      };
    }

    return (env) => {
      stats.nrEnvs++;
      const env2: Env = new Array(nStatic + 1);
      env2[0] = env;
      const ienv = inheritFromEnv(env2, inheritFrom);
      const m = new Map<string, Lazy>();
      for (let i = 0; i < nStatic; i++) {
        const d = defs[i]!;
        const target = d.kind === 'inherited' ? env : d.kind === 'inheritedFrom' ? ienv! : env2;
        // With __overrides every non-inherited attribute must be a real thunk,
        // so overriding its slot afterwards is seen by the other attributes.
        let v: Lazy;
        if (overridesIdx >= 0 && d.kind !== 'inherited') {
          stats.nrThunks++;
          v = new Thunk(d.code, target);
        } else v = d.lazy(target);
        env2[i + 1] = v;
        m.set(names[i]!, v);
      }
      let p = staticPos;
      if (overridesIdx >= 0) {
        const ov = env2[overridesIdx + 1] as Lazy;
        const overrides = forceAttrs(ov, undefined, 'while evaluating the `__overrides` attribute');
        for (const k of overrides.keys()) {
          const v = overrides.get(k)!;
          const idx = names.indexOf(k);
          if (idx >= 0) env2[idx + 1] = v;
          m.set(k, v);
          const op = overrides.posOf(k);
          if (op) {
            if (p === staticPos) p = new Map(p ?? []);
            p!.set(k, op);
          }
        }
      }
      return finish(m, p, env2);
    };
  }

  private compileLet(e: A.ExprLet, scope: Scope): Code {
    const a = e.attrs;
    if (a.dynamicAttrs.length > 0) throw new EvalError('dynamic attributes not allowed in let', e.pos);
    const names = [...a.attrs.keys()];
    const inner = staticScope(names, scope);
    const inheritScope: Scope | null = a.inheritFromExprs ? staticScope(a.inheritFromExprs.map(() => ''), inner) : null;
    const inheritFrom = a.inheritFromExprs?.map((x) => this.compile(x, inner).lazy) ?? null;
    const defs = names.map((name) => {
      internSymbol(name);
      const d = a.attrs.get(name)!;
      const s = d.kind === 'inherited' ? scope : d.kind === 'inheritedFrom' ? inheritScope! : inner;
      return { kind: d.kind, lazy: this.compile(d.e, s).lazy };
    });
    const body = this.compile(e.body, inner).code;
    return (env) => body(recursiveEnv(env, defs, inheritFrom));
  }

  private compileWith(e: A.ExprWith, scope: Scope): Code {
    const attrs = this.compile(e.attrs, scope).lazy;
    const inner: Scope = { up: scope, vars: null, withPos: e.pos };
    const body = this.compile(e.body, inner).code;
    return (env) => {
      stats.nrEnvs++;
      return body([env, attrs(env)]);
    };
  }

  // -------------------------------------------------------------------------
  // Lists, functions, calls

  private compileList(e: A.ExprList, scope: Scope): Compiled {
    if (e.elems.length === 0) {
      const empty: Lazy[] = [];
      return { code: () => empty, lazy: () => empty };
    }
    const elems = e.elems.map((x) => this.compile(x, scope).lazy);
    const n = elems.length;
    return this.thunked((env) => {
      const out: Lazy[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = elems[i]!(env);
      stats.nrListElems += n;
      return out;
    });
  }

  private compileLambda(e: A.ExprLambda, scope: Scope): Compiled {
    const varNames: string[] = [];
    if (e.arg !== undefined) varNames.push(e.arg);
    if (e.formals) for (const f of e.formals.formals) varNames.push(f.name);
    for (const n of varNames) internSymbol(n);
    const inner = staticScope(varNames, scope);
    // Defaults are compiled in the lambda's own scope (they may refer to other formals).
    const formals: FormalInfo[] | null = e.formals
      ? e.formals.formals.map((f) => {
          const c = f.def ? this.compile(f.def, inner) : null;
          return { name: f.name, def: c ? c.code : null, defLazy: c ? c.lazy : null, pos: f.pos };
        })
      : null;
    const info: LambdaInfo = {
      name: e.name,
      pos: e.pos,
      arg: e.arg,
      formals,
      formalNames: formals ? new Set(formals.map((f) => f.name)) : null,
      ellipsis: e.formals?.ellipsis ?? false,
      envSize: varNames.length,
      body: this.compile(e.body, inner).code,
    };
    const mk = (env: Env) => new Lambda(info, env);
    // Nix puts a lambda argument in a thunk too; that is observable in which
    // positions error traces get (an unforced function has none).
    return this.thunked(mk);
  }

  /** The base-environment slot `name` resolves to from `scope`, if it is not shadowed. */
  private resolvesToBuiltin(name: string, scope: Scope): boolean {
    for (let s: Scope | null = scope; s; s = s.up) {
      if (s.vars !== null && s.vars.has(name)) return s.up === null;
    }
    return false;
  }

  private compileCall(e: A.ExprCall, scope: Scope): Code {
    // `a - b`, `a * b`, `a / b`, `a < b` are calls to builtins; when the name
    // is not shadowed, call the primop directly on the evaluated operands
    // (it forces both in order anyway), with the same trace and call depth.
    if (e.fun.kind === 'Var' && e.args.length === 2 && inlinePrimops.has(e.fun.name) && this.resolvesToBuiltin(e.fun.name, scope)) {
      const prim = this.state.getBuiltin(e.fun.name.slice(2));
      if (prim instanceof PrimOp && prim.arity === 2) {
        const a0 = this.compile(e.args[0]!, scope).code;
        const a1 = this.compile(e.args[1]!, scope).code;
        const pos = e.pos;
        const state = this.state;
        const fn = prim.fn;
        const hint = `while calling the '${prim.name}' builtin`;
        // Integers and floats take a direct path; anything else (and every
        // error) goes through the primop itself.
        const direct = directArith[e.fun.name]!;
        const second = e.args[1]!;
        // `n - 1`, `x * 2`, `n < 2`: a literal operand is used as it is,
        // without calling its code.
        const literal = second.kind === 'Int' ? mkInt(second.value) : undefined;
        return (env) => {
          if (state.callDepth > state.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
          state.callDepth++;
          try {
            const v1 = a0(env);
            const v2 = literal !== undefined ? literal : a1(env);
            const r = direct(v1, v2);
            return r !== undefined ? r : fn([v1, v2], pos, state);
          } catch (err) {
            throw addTrace(err, pos, hint);
          } finally {
            state.callDepth--;
          }
        };
      }
    }
    const fun = this.compile(e.fun, scope).code;
    const args = e.args.map((a) => this.compile(a, scope).lazy);
    const pos = e.pos;
    const state = this.state;
    if (args.length === 1) {
      const a0 = args[0]!;
      return (env) => state.callFunction1(fun(env), a0(env), pos);
    }
    const n = args.length;
    return (env) => {
      const f = fun(env);
      const vs: Lazy[] = new Array(n);
      for (let i = 0; i < n; i++) vs[i] = args[i]!(env);
      return state.callFunction(f, vs, pos);
    };
  }

  // -------------------------------------------------------------------------
  // Control

  private compileIf(e: A.ExprIf, scope: Scope): Code {
    const cond = this.compile(e.cond, scope).code;
    const then = this.compile(e.then, scope).code;
    const els = this.compile(e.else, scope).code;
    const p = e.cond.pos;
    return (env) => (evalBool(cond, env, p, 'while evaluating a branch condition') ? then(env) : els(env));
  }

  private compileAssert(e: A.ExprAssert, scope: Scope): Code {
    const cond = this.compile(e.cond, scope).code;
    const body = this.compile(e.body, scope).code;
    const condPos = e.cond.pos;
    const pos = e.pos;
    const state = this.state;
    const condExpr = e.cond;
    const eq = condExpr.kind === 'BinOp' && condExpr.op === '==' ? condExpr : null;
    const eqSides = eq ? { e1: this.compile(eq.e1, scope).code, e2: this.compile(eq.e2, scope).code, pos: eq.pos } : null;
    return (env) => {
      if (!evalBool(cond, env, condPos, 'in the condition of the assert statement')) {
        const exprStr = this.showExpr(condExpr);
        if (eqSides) {
          try {
            const v1 = eqSides.e1(env);
            const v2 = eqSides.e2(env);
            state.assertEqValues(v1, v2, eqSides.pos, 'in an equality assertion', false);
          } catch (err) {
            if (err instanceof AssertionError) err.addTrace(pos, `while evaluating the condition of the assertion '${exprStr}'`);
            throw err;
          }
        }
        throw new AssertionError(`assertion '${exprStr}' failed`, pos);
      }
      return body(env);
    };
  }

  private compileBinOp(e: A.ExprBinOp, scope: Scope): Code {
    const c1 = this.compile(e.e1, scope).code;
    const c2 = this.compile(e.e2, scope).code;
    const p1 = e.e1.pos;
    const p2 = e.e2.pos;
    const pos = e.pos;
    const state = this.state;
    switch (e.op) {
      case '==':
      case '!=': {
        // One closure for both: `!=` is `==` negated, with its own words.
        const negate = e.op === '!=';
        const left = `in the left operand of '${e.op}'`;
        const right = `in the right operand of '${e.op}'`;
        const what = negate ? 'while testing two values for inequality' : 'while testing two values for equality';
        return (env) => {
          let v1: Value;
          try {
            v1 = c1(env);
          } catch (err) {
            throw addTrace(err, p1, left);
          }
          let v2: Value;
          try {
            v2 = c2(env);
          } catch (err) {
            throw addTrace(err, p2, right);
          }
          const t = primitiveEq(v1, v2);
          return (t !== undefined ? t : state.eqValues(v1, v2, pos, what, false)) !== negate;
        };
      }
      case '&&':
        return (env) => evalBool(c1, env, p1, "in the left operand of '&&'") && evalBool(c2, env, p2, "in the right operand of '&&'");
      case '||':
        return (env) => evalBool(c1, env, p1, "in the left operand of '||'") || evalBool(c2, env, p2, "in the right operand of '||'");
      case '->':
        return (env) => !evalBool(c1, env, p1, "in the left operand of '->'") || evalBool(c2, env, p2, "in the right operand of '->'");
      case '++':
        return (env) => {
          const v1 = evalCtx(c1, env, p1, "in the left operand of '++'");
          const v2 = evalCtx(c2, env, p2, "in the right operand of '++'");
          return state.concatLists([v1, v2], pos, 'while evaluating one of the elements to concatenate');
        };
      case '//':
        return this.compileUpdate(e, scope);
    }
  }

  /** `a // b // c`: operands are evaluated right to left, as Nix's update queue does. */
  private compileUpdate(e: A.ExprBinOp, scope: Scope): Code {
    const operands: { code: Code; pos: Pos | undefined; ctx: string }[] = [];
    const flatten = (x: A.Expr, ctx: string) => {
      if (x.kind === 'BinOp' && x.op === '//') {
        flatten(x.e2, "in the right operand of '//'");
        flatten(x.e1, "in the left operand of '//'");
      } else operands.push({ code: this.compile(x, scope).code, pos: x.pos, ctx });
    };
    flatten(e.e2, "in the right operand of '//'");
    flatten(e.e1, "in the left operand of '//'");
    const n = operands.length;
    return (env) => {
      const vals: NixAttrs[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const o = operands[i]!;
        try {
          const v = o.code(env);
          if (!(v instanceof NixAttrs)) throw new TypeError(`expected a set but found ${showType(v)}: ${showValueHook(v)}`);
          vals[i] = v;
        } catch (err) {
          throw addTrace(err, o.pos, o.ctx);
        }
      }
      let acc = NixAttrs.empty;
      for (let i = n - 1; i >= 0; i--) {
        stats.nrOpUpdates++;
        acc = updateAttrs(acc, vals[i]!);
      }
      return acc;
    };
  }

  private compileConcat(e: A.ExprConcatStrings, scope: Scope): Code {
    const parts = e.parts.map((p) => ({ code: this.compile(p.e, scope).code, pos: p.pos ?? p.e.pos }));
    const forceString = e.forceString;
    const pos = e.pos;
    const state = this.state;
    const n = parts.length;
    // `general(env, pre)` starts from the already evaluated values `pre` of
    // the first parts (so a fast path never evaluates a part twice).
    const general = (env: Env, pre: Value[] | null): Value => {
      let first = !forceString;
      let firstType = 'string';
      let nInt: NixInt = 0;
      let nFloat = 0;
      let str = '';
      let context: Set<string> | null = null;
      for (let i = 0; i < n; i++) {
        const part = parts[i]!;
        const v = pre !== null && i < pre.length ? pre[i]! : evalCtx(part.code, env, part.pos, "in an operand of '+'");
        if (first) {
          firstType = isInt(v) ? 'int' : v instanceof NixFloat ? 'float' : v instanceof NixPath ? 'path' : 'string';
        }
        if (firstType === 'int') {
          if (isInt(v)) nInt = checkedAdd(nInt, v, part.pos);
          else if (v instanceof NixFloat) {
            firstType = 'float';
            nFloat = Number(nInt) + v.v;
          } else throw new EvalError(`cannot add ${showType(v)} to an integer`, part.pos);
        } else if (firstType === 'float') {
          if (isInt(v)) nFloat += Number(v);
          else if (v instanceof NixFloat) nFloat += v.v;
          else throw new EvalError(`cannot add ${showType(v)} to a float`, part.pos);
        } else if (typeof v === 'string') {
          str = rawBytesSeen ? concatBytes(str, v) : str + v;
        } else {
          const coerced = state.coerceToString(
            v,
            part.pos,
            'while evaluating a path segment',
            (context ??= new Set<string>()),
            false,
            firstType === 'string',
            !first,
          );
          str = rawBytesSeen ? concatBytes(str, coerced) : str + coerced;
        }
        first = false;
      }
      if (firstType === 'int') return nInt;
      if (firstType === 'float') return new NixFloat(nFloat);
      if (firstType === 'path') {
        if (context !== null && context.size > 0) throw new EvalError('a string that refers to a store path cannot be appended to a path', pos);
        return new NixPath(canonPath(str));
      }
      return context !== null && context.size > 0 ? mkString(str, context) : str;
    };
    if (n !== 2 || forceString) return (env) => general(env, null);
    // `a + b` on two integers or two plain strings, the common cases
    // (anything else, overflow included, goes the general way).
    const c0 = parts[0]!.code;
    const c1 = parts[1]!.code;
    const p0 = parts[0]!.pos;
    const p1 = parts[1]!.pos;
    // The second operand is evaluated early only after a first operand whose
    // processing cannot fail, so errors come in the same order.
    // Both operands are evaluated in tries of this closure's own, not
    // through evalCtx: a chain like `self.v99 + 1` nests one JS frame fewer
    // per level, and no call is made per operand before V8 inlines.
    return (env) => {
      let v1: Value;
      try {
        v1 = c0(env);
      } catch (err) {
        throw addTrace(err, p0, "in an operand of '+'");
      }
      let v2: Value;
      if (typeof v1 === 'number') {
        try {
          v2 = c1(env);
        } catch (err) {
          throw addTrace(err, p1, "in an operand of '+'");
        }
        if (typeof v2 === 'number') {
          const r = v1 + v2;
          if (Number.isSafeInteger(r)) return r;
        }
        return general(env, [v1, v2]);
      }
      if (typeof v1 === 'string') {
        try {
          v2 = c1(env);
        } catch (err) {
          throw addTrace(err, p1, "in an operand of '+'");
        }
        if (typeof v2 === 'string') return rawBytesSeen ? concatBytes(v1, v2) : v1 + v2;
        return general(env, [v1, v2]);
      }
      return general(env, [v1]);
    };
  }
}

/** Equality of two values when neither is a container or needs coercion; undefined otherwise. */
function primitiveEq(a: Value, b: Value): boolean | undefined {
  if (a === null) return b === null;
  if (b === null) return false;
  const ta = typeof a;
  if (ta === 'number' && typeof b === 'number') return a === b;
  if (ta === 'object' || typeof b === 'object') return undefined;
  if (ta === typeof b) return a === b;
  // Integers in both forms (a non-canonical bigint is still the same integer).
  if (isInt(a) && isInt(b)) return a == b; // eslint-disable-line eqeqeq
  return false;
}

/** Canonicalises an absolute path as Nix's CanonPath does: no `.`, `..`, doubled or trailing slashes. */
export function canonPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

export function isFunctionValue(v: Value): boolean {
  return v instanceof Lambda;
}

export { forceList };

/** A compiled binding of a `rec` set or a `let`. */
interface BindingCode {
  kind: A.AttrDefKind;
  lazy: (env: Env) => Lazy;
}

/**
 * The environment of a `rec` set or a `let`: its bindings after the parent
 * link. `inherit x` reads the enclosing scope, `inherit (e) x` a hidden
 * environment holding each `e` once, every other binding the new one.
 */
function recursiveEnv(env: Env, defs: BindingCode[], inheritFrom: ((env: Env) => Lazy)[] | null): Env {
  stats.nrEnvs++;
  const n = defs.length;
  const env2: Env = new Array(n + 1);
  env2[0] = env;
  const ienv = inheritFromEnv(env2, inheritFrom);
  for (let i = 0; i < n; i++) {
    const d = defs[i]!;
    env2[i + 1] = d.lazy(d.kind === 'inherited' ? env : d.kind === 'inheritedFrom' ? ienv! : env2);
  }
  return env2;
}

/** The hidden environment of `inherit (e) …;`: each `e` evaluated once, lazily, in `parent`. */
function inheritFromEnv(parent: Env, inheritFrom: ((env: Env) => Lazy)[] | null): Env | null {
  if (!inheritFrom) return null;
  const ienv: Env = new Array(inheritFrom.length + 1);
  ienv[0] = parent;
  for (let i = 0; i < inheritFrom.length; i++) ienv[i + 1] = inheritFrom[i]!(parent);
  return ienv;
}
