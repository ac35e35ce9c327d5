// The evaluator's state: settings, the store, the base environment of
// builtins, the per-file import cache, and the operations every part of the
// evaluator shares (calling functions, equality, string coercion, forcing
// deeply). Builtins receive it as their `state` argument.

import * as nodePath from 'node:path';
import type * as A from './ast.js';
import {
  AssertionError,
  EvalError,
  InfiniteRecursionError,
  InvalidPathError,
  MissingArgumentError,
  NixError,
  RestrictedPathError,
  StackOverflowError,
  ThrownError,
  TypeError,
} from './errors.js';
import { Compiler, staticScope, canonPath, type Scope } from './compile.js';
import { parse, type ParseOptions } from './parser.js';
import { showExpr } from './show-expr.js';
import { renderError } from './error-format.js';
import { showPos, type Origin, type Pos } from './position.js';
import { printValue, errorPrintOptions } from './print-value.js';
import type { Store } from '../store/store-api.js';
import {
  force,
  forceAttrs,
  forceList,
  isDerivation,
  isInt,
  Lambda,
  mkString,
  NixAttrs,
  NixFloat,
  NixPath,
  NixString,
  addContext,
  PrimOp,
  PrimOpApp,
  primeFieldRepresentations,
  setCallFunctionHook,
  showType,
  stats,
  Thunk,
  FnThunk,
  determinePos,
  type Env,
  type Lazy,
  type Value,
} from './values.js';
import { isConstDef, registeredBuiltins } from './builtins/index.js';
import { bestMatches } from './suggestions.js';
import { internSymbol, symbolCount, symbolOrder } from './symbols.js';
import { nixSysError, strerror } from '../sys-error.js';
import { forStderr } from '../ansi-escapes.js';
import { encodeBytes } from '../byte-strings.js';
import { derivationOutputPath, readDerivation } from '../store/derivation.js';
import { parseNixContextElem } from './context-elements.js';
import { exists, existsNoFollow, lstat, readLink, readText, realPath, stat } from '../byte-fs.js';
import { formatFixed6 } from './float-format.js';
import { printAttributeName } from './literal-strings.js';

export interface LookupPathEntry {
  prefix: string;
  path: string;
}

/** A derivation output the evaluation needs built (import from derivation). */
export interface BuildTarget {
  drvPath: string;
  output: string;
  /** Its store path, unless only building tells (floating content-addressed outputs). */
  outPath: string | undefined;
}

export interface EvalSettings {
  /** `-I` entries first, then NIX_PATH entries: `prefix=path` or `path`. */
  nixPath: string[];
  pureEval: boolean;
  restrictEval: boolean;
  /** Extra paths allowed in restricted mode (`allowed-uris` are not modelled). */
  allowedPaths: string[];
  maxCallDepth: number;
  showTrace: boolean;
  /** `--trace-verbose`. */
  traceVerbose: boolean;
  /** Nix's verbosity (3, info, by default; -v raises it): at 4 and above imports say which file they evaluate. */
  verbosity: number;
  /** `--abort-on-warn` / NIX_ABORT_ON_WARN. */
  abortOnWarn: boolean;
  currentSystem: string;
  /** Home directory for `~/…` paths. */
  home?: string;
  /** Where messages from trace/warn go (default: process.stderr), with Nix's verbosity level (0 error, 1 warn, 4 talkative). */
  log?: (line: string, level: number) => void;
  experimentalFeatures?: Set<string>;
  /** allow-unsafe-native-code-during-evaluation: builtins.exec (and importNative) exist. */
  enableNativeCode?: boolean;
  /** allow-import-from-derivation (default true): reading a derivation's output may build it. */
  allowImportFromDerivation?: boolean;
  /** trace-import-from-derivation: warn when a build happens during evaluation. */
  traceImportFromDerivation?: boolean;
  /**
   * Builds derivation outputs the evaluation reads (import from derivation),
   * each with its output path when known before building; throws when that
   * fails. Absent (read-only and dummy stores), such outputs can only be
   * read once they exist.
   */
  buildDerivations?: (targets: BuildTarget[]) => void;
  /** The lint-*-literals settings, applied by the parser. */
  lint?: ParseOptions['lint'];
  /** Where corepkgs (derivation.nix, fetchurl.nix; `<nix/…>`) live; found next to the sources when unset. */
  corepkgsDir?: string;
  /**
   * Not a Nix setting: false runs derivation.nix's own body for every
   * derivation instead of the native one (tests compare the two).
   */
  nativeDerivation?: boolean;
}

export const defaultSettings: EvalSettings = {
  nixPath: [],
  pureEval: false,
  restrictEval: false,
  allowedPaths: [],
  maxCallDepth: 10000,
  showTrace: false,
  traceVerbose: false,
  verbosity: 3,
  abortOnWarn: false,
  currentSystem: defaultSystem(),
};

function defaultSystem(): string {
  const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  return `${arch}-${process.platform}`;
}

function addTrace(e: unknown, pos: Pos | undefined, hint: string): unknown {
  if (e instanceof NixError) e.addTrace(pos, hint);
  return e;
}

export class EvalState {
  readonly settings: EvalSettings;
  readonly store: Store;
  readonly compiler: Compiler;
  /** The `builtins` attribute set. */
  builtins!: NixAttrs;
  baseEnv!: Env;
  baseScope!: Scope;
  lookupPath: LookupPathEntry[] = [];
  callDepth = 0;
  /** Resolved file path → its value (a thunk until forced). */
  private readonly fileCache = new Map<string, Thunk>();
  /** Parsed and compiled files, keyed by path (scopedImport reuses them per scope). */
  readonly srcToStore = new Map<string, string>();
  /** A chroot store's real directory, once a path has been read from it (shownPath). */
  private realStoreDir: string | undefined = undefined;
  /** In a read-only store: the store paths of sources only hashed, not copied, and where they are (see realisePath). */
  private readonly uncopiedSources = new Map<string, string>();
  /** Search path entries resolved so far (each is looked at, and warned about, once). */
  private readonly resolvedLookupPaths = new Map<string, string | undefined>();
  /** Output paths of derivations read by realiseContext, by `<drv path>^<output>`. */
  private readonly outputPaths = new Map<string, string | undefined>();
  readonly startTime = process.hrtime.bigint();
  /** Positions inside this file are skipped in "from the definition of" frames (corepkgs derivation.nix). */
  derivationInternalFile: string | undefined;

  constructor(store: Store, settings: Partial<EvalSettings> = {}) {
    primeFieldRepresentations();
    this.settings = { ...defaultSettings, ...settings };
    this.store = store;
    this.compiler = new Compiler(this, showExpr);
    this.lookupPath = this.settings.nixPath.map(parseLookupPathEntry);
    setCallFunctionHook(
      (f, args, pos) => (args.length === 1 ? this.callFunction1(force(f, pos), args[0]!, pos) : this.callFunction(force(f, pos), args, pos)),
      // Every forced application (`map`, `genList` elements) comes here:
      // the function is forced inline rather than through force().
      (f, arg, pos) => this.callFunction1(f instanceof Thunk ? f.force(pos) : f, arg, pos),
    );
    this.createBaseEnv();
  }

  get showTrace(): boolean {
    return this.settings.showTrace;
  }

  // -------------------------------------------------------------------------
  // Base environment

  private createBaseEnv(): void {
    const names: string[] = [];
    const values: Lazy[] = [];
    const builtinsMap = new Map<string, Lazy>();
    const add = (name: string, v: Lazy) => {
      const short = name.startsWith('__') ? name.slice(2) : name;
      internSymbol(name);
      internSymbol(short);
      names.push(name);
      values.push(v);
      builtinsMap.set(short, v);
    };
    const builtinsAttrs = new NixAttrs(builtinsMap);
    add('builtins', builtinsAttrs);
    add('true', true);
    add('false', false);
    add('null', null);
    for (const def of registeredBuiltins) {
      if (isConstDef(def)) {
        if (def.impureOnly && this.settings.pureEval) continue;
        add(def.name, def.value(this));
      } else {
        if (def.experimentalFeature && !this.settings.experimentalFeatures?.has(def.experimentalFeature)) continue;
        if (def.nativeCodeOnly && !this.settings.enableNativeCode) continue;
        const short = def.name.startsWith('__') ? def.name.slice(2) : def.name;
        add(def.name, new PrimOp(short, def.arity, def.fn, def.addTrace ?? true));
      }
    }
    this.builtins = builtinsAttrs;
    // A later registration of the same name replaces the earlier one.
    const slots = new Map<string, number>();
    names.forEach((n, i) => slots.set(n, i));
    const uniqNames = [...slots.keys()];
    this.baseEnv = [null, ...uniqNames.map((n) => values[slots.get(n)!]!)];
    this.baseScope = staticScope(uniqNames, null);
  }

  /** A builtin by its name under `builtins`, for internal use. */
  getBuiltin(name: string): Value {
    const v = this.builtins.get(name);
    if (v === undefined) throw new EvalError(`builtin '${name}' not found`);
    return force(v);
  }

  // -------------------------------------------------------------------------
  // Parsing and evaluating sources

  parseString(source: string, origin: Origin, basePath: string): A.Expr {
    return parse(source, origin, {
      basePath,
      home: this.settings.home,
      pureEval: this.settings.pureEval,
      experimentalFeatures: this.settings.experimentalFeatures,
      lint: this.settings.lint,
      // Lint warnings carry a position and get Nix's framed layout; the one
      // without (the "cursed or" notice) is printed as is, as Nix prints it.
      warn: (msg, pos) => (pos ? this.warn(msg, 'warning', pos) : this.log(`warning: ${msg}`, 1)),
    });
  }

  /**
   * Resolves the variables of a parsed expression without evaluating it, as
   * Nix does right after parsing: throws UndefinedVarError ("undefined
   * variable 'x'") for a free variable outside any `with`. For `--parse`.
   */
  bindVars(e: A.Expr): void {
    this.compiler.compile(e, this.baseScope);
  }

  /** Compiles an expression against the base scope (or a given scope) and evaluates it. */
  evalExpr(e: A.Expr, scope: Scope = this.baseScope, env: Env = this.baseEnv): Value {
    const code = this.compiler.compile(e, scope).code;
    return code(env);
  }

  /** An expression bound in the base scope now (its undefined variables are reported now), to evaluate later. */
  compileExpr(e: A.Expr): () => Value {
    const code = this.compiler.compile(e, this.baseScope).code;
    return () => code(this.baseEnv);
  }

  /** `nix-instantiate -E`: evaluate a string; relative paths resolve against baseDir. */
  evalString(source: string, origin: Origin = { kind: 'string', source }, baseDir = process.cwd()): Value {
    return this.evalExpr(this.parseString(source, origin, baseDir));
  }

  parseFile(path: string): A.Expr {
    this.checkSourcePath(path);
    let source: string;
    try {
      source = readText(path);
    } catch (e) {
      throw new EvalError(`opening file '${this.shownPath(path)}': ${strerror(e)}`);
    }
    // Relative paths in it are relative to where the user knows it is (a
    // chroot store's file: its logical store path), as in Nix.
    const shown = this.shownPath(path);
    return this.parseString(source, { kind: 'file', path: shown, source }, nodePath.dirname(shown));
  }

  /** Evaluates a file once per state (import caches by resolved path). */
  evalFile(path: string): Value {
    const resolved = resolveExprPath(path, (p) => this.shownPath(p));
    let t = this.fileCache.get(resolved);
    if (t === undefined) {
      t = new FnThunk(() => {
        this.talk(`evaluating file '${this.shownPath(resolved)}'`);
        const e = this.parseFile(resolved);
        try {
          return this.evalExpr(e);
        } catch (err) {
          throw addTrace(err, undefined, `while evaluating the file '${this.shownPath(resolved)}':`);
        }
      });
      this.fileCache.set(resolved, t);
    }
    return t.force();
  }

  /** scopedImport: the file's free variables come from `scope` (then builtins); not cached. */
  evalFileWithScope(path: string, scope: NixAttrs): Value {
    const resolved = resolveExprPath(path, (p) => this.shownPath(p));
    this.talk(`evaluating file '${this.shownPath(resolved)}'`);
    const e = this.parseFile(resolved);
    const keys = scope.keys();
    const s = staticScope(keys, this.baseScope);
    const env: Env = [this.baseEnv, ...keys.map((k) => scope.get(k)!)];
    return this.evalExpr(e, s, env);
  }

  // -------------------------------------------------------------------------
  // Functions

  callFunction(fn: Value, args: Lazy[], pos: Pos | undefined): Value {
    if (this.callDepth > this.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
    this.callDepth++;
    try {
      let f: Value = fn;
      let i = 0;
      const n = args.length;
      while (i < n) {
        if (f instanceof Lambda) {
          f = this.callLambda(f, args[i]!, pos);
          i++;
        } else if (f instanceof PrimOp) {
          const arity = f.arity;
          if (n - i < arity) return new PrimOpApp(f, i === 0 ? args : args.slice(i));
          f = this.callPrimOp(f, i === 0 && n === arity ? args : args.slice(i, i + arity), pos);
          i += arity;
        } else if (f instanceof PrimOpApp) {
          const need = f.primop.arity - f.args.length;
          if (n - i < need) return new PrimOpApp(f.primop, f.args.concat(args.slice(i)));
          f = this.callPrimOp(f.primop, f.args.concat(args.slice(i, i + need)), pos);
          i += need;
        } else if (f instanceof NixAttrs && f.has('__functor')) {
          const functor = f.get('__functor')!;
          try {
            f = this.callFunction(force(functor, f.posOf('__functor')), [f, args[i]!], f.posOf('__functor'));
          } catch (e) {
            throw addTrace(e, pos, "while calling a functor (an attribute set with a '__functor' attribute)");
          }
          i++;
        } else {
          throw new TypeError(
            `attempt to call something which is not a function but ${showType(f)}: ${printValue(f, errorPrintOptions)}`,
            pos,
          );
        }
      }
      return f;
    } finally {
      this.callDepth--;
    }
  }

  /** callFunction with one argument, without allocating an argument array for lambdas. */
  callFunction1(fn: Value, arg: Lazy, pos: Pos | undefined): Value {
    if (!(fn instanceof Lambda)) return this.callFunction(fn, [arg], pos);
    if (this.callDepth > this.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
    this.callDepth++;
    try {
      return this.callLambda(fn, arg, pos);
    } finally {
      this.callDepth--;
    }
  }

  /** callFunction with two arguments (foldl', sort), without an argument array when `fn` is a lambda. */
  callFunction2(fn: Value, a: Lazy, b: Lazy, pos: Pos | undefined): Value {
    if (!(fn instanceof Lambda)) return this.callFunction(fn, [a, b], pos);
    if (this.callDepth > this.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
    this.callDepth++;
    try {
      const f = this.callLambda(fn, a, pos);
      if (f instanceof Lambda) return this.callLambda(f, b, pos);
      // Not a lambda: let callFunction apply it at the same depth, as its own loop would.
      this.callDepth--;
      try {
        return this.callFunction(f, [b], pos);
      } finally {
        this.callDepth++;
      }
    } finally {
      this.callDepth--;
    }
  }

  private callPrimOp(p: PrimOp, args: Lazy[], pos: Pos | undefined): Value {
    stats.nrPrimOpCalls++;
    if (!p.addTrace) return p.fn(args, pos, this);
    try {
      return p.fn(args, pos, this);
    } catch (e) {
      // A file-system call that failed in a builtin is worded as Nix words it, not as Node does.
      throw addTrace(nixSysError(e) ?? e, pos, `while calling the '${p.name}' builtin`);
    }
  }

  private callLambda(f: Lambda, arg: Lazy, pos: Pos | undefined): Value {
    const info = f.info;
    stats.nrEnvs++;
    stats.nrValuesInEnvs += info.envSize;
    const formals = info.formals;
    let env: Env;
    if (formals === null) {
      // An exact-size packed array: the commonest environment of all.
      env = [f.env, arg];
    } else {
      env = new Array(info.envSize + 1);
      env[0] = f.env;
      let k = 1;
      let attrs: NixAttrs;
      try {
        attrs = forceAttrs(arg, info.pos, 'while evaluating the value passed for the lambda argument');
      } catch (e) {
        if (pos) addTrace(e, pos, 'from call site');
        throw e;
      }
      if (info.arg !== undefined) env[k++] = arg;
      let used = 0;
      for (let j = 0; j < formals.length; j++) {
        const fm = formals[j]!;
        const v = attrs.get(fm.name);
        if (v === undefined) {
          if (fm.def === null) {
            const err = new TypeError(
              `function '${info.name ?? 'anonymous lambda'}' called without required argument '${printAttributeName(fm.name)}'`,
              info.pos,
            );
            err.addTrace(pos, 'from call site');
            throw err;
          }
          env[k++] = fm.defLazy!(env);
        } else {
          used++;
          env[k++] = v;
        }
      }
      // A layered argument (callPackage's `intersectAttrs … // args`) is
      // checked name by name: its size would cost a lookup per name anyway.
      if (!info.ellipsis && (attrs.layers === 0 ? used !== attrs.size : !attrs.namesWithin(info.formalNames!))) {
        for (const name of this.symbolOrder(attrs)) {
          if (!info.formalNames!.has(name)) {
            const err = new TypeError(`function '${info.name ?? 'anonymous lambda'}' called with unexpected argument '${printAttributeName(name)}'`, info.pos);
            err.addTrace(pos, 'from call site');
            err.suggestions = bestMatches([...info.formalNames!], name);
            throw err;
          }
        }
      }
    }
    stats.nrFunctionCalls++;
    if (!this.settings.showTrace) return info.body(env);
    try {
      return info.body(env);
    } catch (e) {
      if (e instanceof NixError) {
        e.addTrace(info.pos, `while calling ${info.name ? `'${info.name}'` : 'anonymous lambda'}`);
        if (pos) e.addTrace(pos, 'from call site');
      }
      throw e;
    }
  }

  /** Nix's autoCallFunction: apply a function with formals to the --arg/--argstr set. */
  autoCallFunction(v: Value, autoArgs: NixAttrs): Value {
    if (v instanceof NixAttrs) {
      const functor = v.get('__functor');
      if (functor !== undefined) {
        const r = this.callFunction(force(functor), [v], undefined);
        return this.autoCallFunction(r, autoArgs);
      }
    }
    if (!(v instanceof Lambda) || v.info.formals === null) return v;
    const m = new Map<string, Lazy>();
    if (v.info.ellipsis) {
      for (const k of autoArgs.keys()) m.set(k, autoArgs.get(k)!);
    } else {
      for (const fm of v.info.formals) {
        const a = autoArgs.get(fm.name);
        if (a !== undefined) m.set(fm.name, a);
        else if (fm.def === null) {
          throw new MissingArgumentError(
            `cannot evaluate a function that has an argument without a value ('${fm.name}')
Nix attempted to evaluate a function as a top level expression; in
this case it must have its arguments supplied either by default
values, or passed explicitly with '--arg' or '--argstr'. See
https://nix.dev/manual/nix/stable/language/syntax.html#functions.`,
            fm.pos,
          );
        }
      }
    }
    return this.callFunction(v, [new NixAttrs(m)], undefined);
  }

  /**
   * `-A a.b.0`: select along an attribute path as nix-instantiate does,
   * auto-calling functions with `autoArgs` at each step.
   */
  findAlongAttrPath(v: Value, attrPath: string, autoArgs: NixAttrs): Value {
    let cur: Lazy = v;
    for (const attr of parseAttrPath(attrPath)) {
      const next = this.autoCallFunction(force(cur), autoArgs);
      const isIndex = /^[0-9]+$/.test(attr) && Number(attr) <= 0xffffffff;
      if (!isIndex) {
        if (!(next instanceof NixAttrs)) {
          throw new TypeError(`the expression selected by the selection path '${attrPath}' should be a set but is ${showType(next)}`);
        }
        if (attr === '') throw new EvalError(`empty attribute name in selection path '${attrPath}'`);
        const a = next.get(attr);
        if (a === undefined) {
          const err = new EvalError(`attribute '${attr}' in selection path '${attrPath}' not found`);
          err.suggestions = bestMatches(next.keys(), attr);
          throw err;
        }
        cur = a;
      } else {
        if (!Array.isArray(next)) {
          throw new TypeError(`the expression selected by the selection path '${attrPath}' should be a list but is ${showType(next)}`);
        }
        const i = Number(attr);
        if (i >= next.length) throw new EvalError(`list index ${i} in selection path '${attrPath}' is out of range`);
        cur = next[i]!;
      }
    }
    return force(cur);
  }

  // -------------------------------------------------------------------------
  // Attribute helpers

  missingAttrError(name: string, attrs: NixAttrs, _pos: Pos | undefined): EvalError {
    // Nix gives this error no position of its own; the select frame carries it.
    const err = new EvalError(`attribute '${printAttributeName(name)}' missing`);
    err.suggestions = bestMatches(attrs.keys(), name);
    return err;
  }

  isDerivationInternal(pos: Pos): boolean {
    return this.derivationInternalFile !== undefined && pos.origin.kind === 'file' && pos.origin.path === this.derivationInternalFile;
  }

  showPos(pos: Pos): string {
    return showPos(pos);
  }

  /** `__curPos` and unsafeGetAttrPos: `{ file, line, column }` or null. */
  mkPos(pos: Pos | undefined): Value {
    if (!pos || pos.origin.kind !== 'file') return null;
    return new NixAttrs(
      new Map<string, Lazy>([
        ['column', pos.column],
        ['file', pos.origin.path],
        ['line', pos.line],
      ]),
    );
  }

  /**
   * Attribute names in the order Nix stores them (by symbol creation order),
   * which decides which attribute deep forcing and equality visit first.
   */
  symbolOrder(attrs: NixAttrs): string[] {
    return symbolOrder(attrs);
  }

  // -------------------------------------------------------------------------
  // Lists

  concatLists(lists: Lazy[], pos: Pos | undefined, ctx: string): Lazy[] {
    stats.nrListConcats++;
    let nonEmpty: Lazy[] | null = null;
    let len = 0;
    const forced: Lazy[][] = new Array(lists.length);
    for (let i = 0; i < lists.length; i++) {
      const l = forceList(lists[i]!, pos, ctx);
      forced[i] = l;
      len += l.length;
      if (l.length > 0) nonEmpty = l;
    }
    if (nonEmpty !== null && len === nonEmpty.length) return nonEmpty;
    if (len === 0) return forced[0] ?? [];
    // `a ++ b`: V8's concat copies each side as a block, which beats an
    // element loop by ≈1.7x (a list grown by `acc ++ [x]` copies it each time).
    if (forced.length === 2) return forced[0]!.concat(forced[1]!);
    const out: Lazy[] = new Array(len);
    let k = 0;
    for (const l of forced) for (let j = 0; j < l.length; j++) out[k++] = l[j]!;
    return out;
  }

  // -------------------------------------------------------------------------
  // Equality

  private enterCall(pos: Pos | undefined): void {
    if (this.callDepth > this.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
    this.callDepth++;
  }

  /** Nix's eqValues. `a` and `b` may be the same stored Lazy (then equal without forcing). */
  eqValues(a: Lazy, b: Lazy, pos: Pos | undefined, ctx: string, identity = true): boolean {
    this.enterCall(pos);
    try {
      // Forced inline (list `elem`, `==` on every element): no call to force().
      const v1 = a instanceof Thunk ? a.force(pos) : a;
      const v2 = b instanceof Thunk ? b.force(pos) : b;
      // The operands of `==` itself are never the same stored value in Nix.
      if (identity && a === b && typeof a === 'object' && a !== null) return true;
      if (v1 === v2 && typeof v1 === 'object' && v1 !== null && !(v1 instanceof NixFloat) && !(v1 instanceof Lambda) && !(v1 instanceof PrimOp) && !(v1 instanceof PrimOpApp)) return true;
      // Numbers first: a float compares by value even with itself (NaN).
      if (isInt(v1)) {
        if (isInt(v2)) return v1 == v2; // eslint-disable-line eqeqeq -- either int form
        if (v2 instanceof NixFloat) return Number(v1) === v2.v;
        return false;
      }
      if (v1 instanceof NixFloat) {
        if (v2 instanceof NixFloat) return v1.v === v2.v;
        if (isInt(v2)) return v1.v === Number(v2);
        return false;
      }
      if (v1 === null) return v2 === null;
      if (typeof v1 === 'boolean') return v1 === v2;
      if (typeof v1 === 'string' || v1 instanceof NixString) {
        if (typeof v2 === 'string') return (typeof v1 === 'string' ? v1 : v1.s) === v2;
        if (v2 instanceof NixString) return (typeof v1 === 'string' ? v1 : v1.s) === v2.s;
        return false;
      }
      if (v1 instanceof NixPath) return v2 instanceof NixPath && v1.path === v2.path;
      if (Array.isArray(v1)) {
        if (!Array.isArray(v2) || v1.length !== v2.length) return false;
        for (let i = 0; i < v1.length; i++) if (!this.eqValues(v1[i]!, v2[i]!, pos, ctx)) return false;
        return true;
      }
      if (v1 instanceof NixAttrs) {
        if (!(v2 instanceof NixAttrs)) return false;
        if (isDerivation(v1) && isDerivation(v2)) {
          const i = v1.get('outPath');
          const j = v2.get('outPath');
          if (i !== undefined && j !== undefined) return this.eqValues(i, j, pos, ctx);
        }
        if (v1.size !== v2.size) return false;
        const k1 = symbolOrder(v1);
        const k2 = symbolOrder(v2);
        for (let i = 0; i < k1.length; i++) {
          if (k1[i] !== k2[i]) return false;
          if (!this.eqValues(v1.get(k1[i]!)!, v2.get(k2[i]!)!, pos, ctx)) return false;
        }
        return true;
      }
      return false;
    } finally {
      this.callDepth--;
    }
  }

  /** Nix's assertEqValues: throws an AssertionError describing the first difference. */
  assertEqValues(a: Lazy, b: Lazy, pos: Pos | undefined, ctx: string, identity = true): void {
    this.enterCall(pos);
    try {
      const v1 = force(a, pos);
      const v2 = force(b, pos);
      if (identity && a === b && typeof a === 'object' && a !== null) return;
      const show = (v: Value) => printValue(v, errorPrintOptions);
      const isNum = (v: Value) => isInt(v) || v instanceof NixFloat;
      if (isNum(v1) && isNum(v2)) {
        if (this.eqValues(v1, v2, pos, ctx)) return;
        throw new AssertionError(`${showType(v1)} with value '${show(v1)}' is not equal to ${showType(v2)} with value '${show(v2)}'`);
      }
      const kind = (v: Value) => (typeof v === 'string' || v instanceof NixString ? 'string' : showType(v) === 'a function' || v instanceof PrimOp || v instanceof PrimOpApp ? 'function' : typeof v === 'object' && v !== null ? v.constructor.name : typeof v);
      if (kind(v1) !== kind(v2) || (v1 === null) !== (v2 === null)) {
        throw new AssertionError(`${showType(v1)} of value '${show(v1)}' is not equal to ${showType(v2)} of value '${show(v2)}'`);
      }
      if (isInt(v1)) {
        if (v1 != v2) throw new AssertionError(`integer '${v1}' is not equal to integer '${v2}'`); // eslint-disable-line eqeqeq
        return;
      }
      if (typeof v1 === 'boolean') {
        if (v1 !== v2) throw new AssertionError(`boolean '${show(v1)}' is not equal to boolean '${show(v2)}'`);
        return;
      }
      if (typeof v1 === 'string' || v1 instanceof NixString) {
        const s1 = typeof v1 === 'string' ? v1 : v1.s;
        const s2 = typeof v2 === 'string' ? v2 : (v2 as NixString).s;
        if (s1 !== s2) throw new AssertionError(`string '${show(v1)}' is not equal to string '${show(v2)}'`);
        return;
      }
      if (v1 instanceof NixPath) {
        if (v1.path !== (v2 as NixPath).path) throw new AssertionError(`path '${show(v1)}' is not equal to path '${show(v2)}'`);
        return;
      }
      if (v1 === null) return;
      if (Array.isArray(v1)) {
        const l2 = v2 as Lazy[];
        if (v1.length !== l2.length) {
          throw new AssertionError(
            `list of size '${v1.length}' is not equal to list of size '${l2.length}', left hand side is '${show(v1)}', right hand side is '${show(v2)}'`,
          );
        }
        for (let i = 0; i < v1.length; i++) {
          try {
            this.assertEqValues(v1[i]!, l2[i]!, pos, ctx);
          } catch (e) {
            throw addTrace(e, pos, `while comparing list element ${i}`);
          }
        }
        return;
      }
      if (v1 instanceof NixAttrs) {
        const a2 = v2 as NixAttrs;
        if (isDerivation(v1) && isDerivation(a2)) {
          const i = v1.get('outPath');
          const j = a2.get('outPath');
          if (i !== undefined && j !== undefined) {
            try {
              this.assertEqValues(i, j, pos, ctx);
              return;
            } catch (e) {
              throw addTrace(e, pos, "while comparing a derivation by its 'outPath' attribute");
            }
          }
        }
        if (v1.size !== a2.size) {
          throw new AssertionError(`attribute names of attribute set '${show(v1)}' differs from attribute set '${show(v2)}'`);
        }
        const k1 = symbolOrder(v1);
        const k2 = symbolOrder(a2);
        for (let i = 0; i < k1.length; i++) {
          const n1 = k1[i]!;
          const n2 = k2[i]!;
          if (n1 !== n2) {
            if (!a2.has(n1)) {
              throw new AssertionError(`attribute name '${printAttributeName(n1)}' is contained in '${show(v1)}', but not in '${show(v2)}'`);
            }
            throw new AssertionError(`attribute name '${printAttributeName(n2)}' is missing in '${show(v1)}', but is contained in '${show(v2)}'`);
          }
          try {
            this.assertEqValues(v1.get(n1)!, a2.get(n2)!, pos, ctx);
          } catch (e) {
            if (e instanceof NixError) {
              const pj = a2.posOf(n2);
              const pi = v1.posOf(n1);
              if (pj) e.addTrace(pj, 'where right hand side is');
              if (pi) e.addTrace(pi, 'where left hand side is');
              e.addTrace(pos, `while comparing attribute '${printAttributeName(n1)}'`);
            }
            throw e;
          }
        }
        return;
      }
      if (v1 instanceof Lambda || v1 instanceof PrimOp || v1 instanceof PrimOpApp) {
        throw new AssertionError('distinct functions and immediate comparisons of identical functions compare as unequal');
      }
    } finally {
      this.callDepth--;
    }
  }

  // -------------------------------------------------------------------------
  // Strings and paths

  /**
   * Nix's coerceToString. Appends context elements to `context`.
   * coerceMore: also accept null/bool/int/float/lists (toString);
   * copyToStore: a path becomes its store path (and context) rather than itself;
   * canonicalizePath: false keeps a path literal's trailing slash (`./a/${x}`).
   */
  coerceToString(
    x: Lazy,
    pos: Pos | undefined,
    ctx: string,
    context: Set<string>,
    coerceMore = false,
    copyToStore = true,
    canonicalizePath = true,
  ): string {
    this.enterCall(pos);
    try {
      const v = force(x, pos);
      if (typeof v === 'string') return v;
      if (v instanceof NixString) {
        addContext(context, v.ctx);
        return v.s;
      }
      if (v instanceof NixPath) {
        if (copyToStore) return this.copyPathToStore(v.path, context);
        return canonicalizePath ? v.path : v.path;
      }
      if (v instanceof NixAttrs) {
        return this.peel(v, pos, (p) => {
          if (p instanceof NixAttrs) {
            const err = new TypeError(`cannot coerce ${showType(p)} to a string: ${printValue(p, errorPrintOptions)}`);
            err.addTrace(pos, ctx);
            throw err;
          }
          return this.coerceToString(p, pos, ctx, context, coerceMore, copyToStore, true);
        });
      }
      if (coerceMore) {
        if (v === true) return '1';
        if (v === false || v === null) return '';
        if (isInt(v)) return v.toString();
        if (v instanceof NixFloat) return formatFixed6(v.v);
        if (Array.isArray(v)) {
          let result = '';
          for (let i = 0; i < v.length; i++) {
            try {
              result += this.coerceToString(v[i]!, pos, 'while evaluating one element of the list', context, coerceMore, copyToStore, canonicalizePath);
            } catch (e) {
              throw addTrace(e, pos, ctx);
            }
            if (i < v.length - 1) {
              const e = force(v[i]!);
              if (!Array.isArray(e) || e.length !== 0) result += ' ';
            }
          }
          return result;
        }
      }
      const err = new TypeError(`cannot coerce ${showType(v)} to a string: ${printValue(v, errorPrintOptions)}`);
      err.addTrace(pos, ctx);
      throw err;
    } finally {
      this.callDepth--;
    }
  }

  /** A string value from coerceToString, with its context. */
  coerceToStringValue(x: Lazy, pos: Pos | undefined, ctx: string, coerceMore = false, copyToStore = true): Value {
    const context = new Set<string>();
    const s = this.coerceToString(x, pos, ctx, context, coerceMore, copyToStore);
    return mkString(s, context);
  }

  /**
   * Nix's peelToStringOutPath: follows `__toString` and `outPath` of
   * attribute sets down to a non-set value and hands it to `cb`.
   */
  peel<T>(x: Lazy, pos: Pos | undefined, cb: (v: Value) => T): T {
    const v = force(x, pos);
    if (!(v instanceof NixAttrs)) return cb(v);
    const toStr = v.get('__toString');
    if (toStr !== undefined) {
      const tpos = v.posOf('__toString');
      let r: Value;
      try {
        r = this.callFunction(force(toStr, tpos), [v], tpos);
      } catch (e) {
        throw addTrace(e, tpos, 'while calling the `__toString` attribute');
      }
      try {
        this.enterCall(pos);
        try {
          return this.peel(r, tpos, cb);
        } finally {
          this.callDepth--;
        }
      } catch (e) {
        throw addTrace(e, tpos, 'while using the result of the `__toString` attribute');
      }
    }
    const outPath = v.get('outPath');
    if (outPath !== undefined) {
      const opos = v.posOf('outPath');
      let whnf = !(outPath instanceof Thunk) || outPath.forced;
      try {
        force(outPath, opos);
        whnf = true;
        this.enterCall(pos);
        try {
          return this.peel(outPath, opos, cb);
        } finally {
          this.callDepth--;
        }
      } catch (e) {
        throw addTrace(e, opos, `while ${whnf ? 'using' : 'evaluating'} the \`outPath\` attribute`);
      }
    }
    return cb(v);
  }

  /** Nix's coerceToPath: a path value, or a string holding an absolute path. */
  coerceToPath(x: Lazy, pos: Pos | undefined, ctx: string, context: Set<string>): string {
    return this.peel(x, pos, (v) => {
      if (v instanceof NixPath) return v.path;
      const s = this.coerceToString(v, pos, ctx, context, false, false, true);
      if (s === '' || s[0] !== '/') {
        const err = new EvalError(`string '${s}' doesn't represent an absolute path`);
        err.addTrace(pos, ctx);
        throw err;
      }
      return canonPath(s);
    });
  }

  /**
   * A path as used by file-reading builtins: coerced, its context realised
   * (store paths must be valid, derivation outputs are built), access
   * checked. A store path is read where the store keeps it (a chroot
   * store's real directory), or, for a source hashed into a read-only store
   * without being copied, from the source itself, as current Nix reads such
   * "lazy" paths.
   */
  realisePath(x: Lazy, _pos: Pos | undefined, resolveSymlinks: 'full' | 'none' = 'full'): string {
    const context = new Set<string>();
    let p = this.coerceToPath(x, undefined, 'while realising the context of a path', context);
    if (context.size > 0) {
      try {
        this.realiseContext(context);
      } catch (e) {
        throw addTrace(e, undefined, `while realising the context of path '${p}'`);
      }
    }
    p = this.onDisk(p);
    if (resolveSymlinks === 'full') p = resolveSymlinksFully(p);
    this.checkSourcePath(p);
    return p;
  }

  /**
   * A path as the user knows it: in a chroot store, a file read from its
   * real directory is named by its logical store path (as current Nix does),
   * in error messages and in the positions of files imported from the store.
   */
  shownPath(p: string): string {
    const real = this.realStoreDir;
    if (real === undefined || !p.startsWith(real) || p[real.length] !== '/') return p;
    return this.store.storeDir + p.slice(real.length);
  }

  /** Where a path is read from: a store path's real location or uncopied source, anything else as it is. */
  onDisk(p: string): string {
    const storeDir = this.store.storeDir;
    if (!p.startsWith(storeDir) || p[storeDir.length] !== '/') return p;
    const end = p.indexOf('/', storeDir.length + 1);
    const storePath = end < 0 ? p : p.slice(0, end);
    const source = this.uncopiedSources.get(storePath);
    if (source !== undefined) return source + p.slice(storePath.length);
    const real = this.store.toRealPath(storePath);
    if (real === storePath) return p;
    // Known from here on (asking the store earlier would open its database).
    this.realStoreDir ??= real.slice(0, real.length - storePath.length + storeDir.length);
    return real + p.slice(storePath.length);
  }

  /**
   * Nix's realiseContext: every store path the strings' context names must
   * be valid, and the derivation outputs it names are built when missing
   * (import from derivation).
   */
  realiseContext(context: Set<string>): void {
    const store = this.store;
    const ensureValid = (p: string) => {
      if (!store.isValidPath(p)) throw new InvalidPathError(p);
    };
    const built: BuildTarget[] = [];
    for (const c of context) {
      const e = parseNixContextElem(c);
      if (e.kind === 'built') {
        ensureValid(e.drvPath);
        built.push({ drvPath: e.drvPath, output: e.output, outPath: this.outputPathOf(e.drvPath, e.output) });
      } else if (e.kind === 'drvDeep') ensureValid(e.drvPath);
      else if (!this.uncopiedSources.has(e.path)) ensureValid(e.path);
    }
    if (built.length === 0) return;
    const targets = built.map((b) => `${b.drvPath}^${b.output}`);
    if (this.settings.allowImportFromDerivation === false) {
      throw new EvalError(`cannot build '${targets[0]}' during evaluation because the option 'allow-import-from-derivation' is disabled`);
    }
    if (this.settings.traceImportFromDerivation) this.warn(`built '${targets[0]}' during evaluation due to an import from derivation`);
    // Only what is missing is built: outputs already valid are read as they are.
    const missing = built.filter((b) => b.outPath === undefined || !store.isValidPath(b.outPath));
    if (missing.length === 0) return;
    const build = this.settings.buildDerivations;
    if (build === undefined) throw new EvalError(`cannot build '${targets[0]}' during evaluation: this store cannot build`);
    build(missing);
  }

  /**
   * The output path of a derivation in the store, undefined when it is not
   * known before building; remembered, as a .drv never changes.
   */
  private outputPathOf(drvPath: string, output: string): string | undefined {
    const key = `${drvPath}^${output}`;
    if (this.outputPaths.has(key)) return this.outputPaths.get(key);
    let path: string | undefined;
    try {
      path = derivationOutputPath(readDerivation(this.store, drvPath), output, this.store.storeDir);
    } catch {
      path = undefined;
    }
    this.outputPaths.set(key, path);
    return path;
  }

  /**
   * A read-only store only computed `storePath` for the source at `path`
   * (unfiltered, so the same files): reads of it go to the source.
   */
  noteUncopiedSource(storePath: string, path: string): void {
    if (this.store.readOnly) this.uncopiedSources.set(storePath, this.onDisk(path));
  }

  copyPathToStore(path: string, context: Set<string>): string {
    const cached = this.srcToStore.get(path);
    if (cached !== undefined) {
      context.add(cached);
      return cached;
    }
    const base = nodePath.posix.basename(path);
    if (base.endsWith('.drv')) throw new EvalError("file names are not allowed to end in '.drv'");
    this.checkSourcePath(path);
    if (!existsNoFollow(path)) throw new EvalError(`path '${path}' does not exist`);
    const storePath = this.store.addPathToStore(base, path, { method: 'recursive', hashAlgo: 'sha256' });
    this.srcToStore.set(path, storePath);
    this.noteUncopiedSource(storePath, path);
    context.add(storePath);
    return storePath;
  }

  // -------------------------------------------------------------------------
  // Deep forcing

  /** Nix's forceValueDeep, with its traces and call-depth accounting. */
  forceValueDeep(x: Lazy): void {
    const seen = new Set<object>();
    const go = (x: Lazy) => {
      const pos = determinePos(x);
      this.enterCall(pos);
      try {
        const v = force(x, pos);
        if (typeof v !== 'object' || v === null) return;
        if (seen.has(v)) return;
        seen.add(v);
        if (v instanceof NixAttrs) {
          for (const k of symbolOrder(v)) {
            try {
              go(v.get(k)!);
            } catch (e) {
              throw addTrace(e, v.posOf(k), `while evaluating the attribute '${printAttributeName(k)}'`);
            }
          }
        } else if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            try {
              go(v[i]!);
            } catch (e) {
              throw addTrace(e, undefined, `while evaluating list element at index ${i}`);
            }
          }
        }
      } finally {
        this.callDepth--;
      }
    };
    go(x);
  }

  // -------------------------------------------------------------------------
  // Search path, access control, messages

  /** `<name>` lookup along a search path. */
  findFile(lookupPath: LookupPathEntry[], name: string, pos: Pos | undefined): string {
    for (const { prefix, path } of lookupPath) {
      let suffix: string;
      if (prefix === '') suffix = name;
      else if (name === prefix) suffix = '';
      else if (name.startsWith(prefix + '/')) suffix = name.slice(prefix.length + 1);
      else continue;
      const base = this.resolveLookupPathEntry(path);
      if (base === undefined) continue;
      const res = suffix === '' ? base : nodePath.join(base, suffix);
      if (exists(res)) return res;
    }
    if (name.startsWith('nix/')) {
      const corepkgs = this.corepkgsDir();
      if (corepkgs) return nodePath.join(corepkgs, name.slice(4));
    }
    throw new ThrownError(
      this.settings.pureEval
        ? `cannot look up '<${name}>' in pure evaluation mode (use '--impure' to override)`
        : `file '${name}' was not found in the Nix search path (add it using $NIX_PATH or -I)`,
      pos,
    );
  }

  /**
   * A search path entry's directory, once per entry as in Nix: undefined
   * (with Nix's warning) when it does not exist, or when it is a URL, which
   * tsnix cannot download yet.
   */
  private resolveLookupPathEntry(path: string): string | undefined {
    if (this.resolvedLookupPaths.has(path)) return this.resolvedLookupPaths.get(path);
    let r: string | undefined;
    if (/^[a-z]+:\/\//.test(path) || path.startsWith('channel:') || path.startsWith('flake:')) {
      this.warn(`Nix search path entry '${path}' cannot be downloaded, ignoring`);
    } else {
      r = nodePath.resolve(path);
      if (!exists(r)) {
        this.warn(`Nix search path entry '${path}' does not exist, ignoring`);
        r = undefined;
      }
    }
    this.resolvedLookupPaths.set(path, r);
    return r;
  }

  /** The project's corepkgs/ directory (reachable as <nix/…>). */
  corepkgsDir(): string | undefined {
    if (this.settings.corepkgsDir) return this.settings.corepkgsDir;
    const here = nodePath.dirname(new URL(import.meta.url).pathname);
    // dist/eval/ (compiled), src/eval/ under a test runner one level deeper, dist/ (the bundle, scripts/build-bundle.mjs).
    for (const cand of [nodePath.resolve(here, '../../corepkgs'), nodePath.resolve(here, '../../../corepkgs'), nodePath.resolve(here, '../corepkgs')]) {
      if (exists(cand)) return cand;
    }
    return undefined;
  }

  /** In restricted/pure mode, only allowed paths may be read. */
  checkSourcePath(path: string): void {
    if (!this.settings.restrictEval && !this.settings.pureEval) return;
    const allowed = [...this.settings.allowedPaths, ...this.lookupPath.map((e) => nodePath.resolve(e.path)), this.store.storeDir];
    for (const a of allowed) {
      if (path === a || path.startsWith(a.endsWith('/') ? a : a + '/')) return;
    }
    throw new RestrictedPathError(
      this.settings.pureEval
        ? `access to absolute path '${path}' is forbidden in pure evaluation mode (use '--impure' to override)`
        : `access to absolute path '${path}' is forbidden in restricted mode`,
    );
  }

  /** A message for the user at a verbosity level: to settings.log, else stderr. */
  log(line: string, level: number): void {
    if (this.settings.log) this.settings.log(line, level);
    // As bytes: a trace can show a string holding raw bytes (byte-strings.ts).
    // Escape sequences from the strings shown are filtered, as Nix does.
    else process.stderr.write(encodeBytes(forStderr(line) + '\n'));
  }

  /** builtins.trace output. */
  trace(msg: string): void {
    // Nix prints traces at the error level.
    this.log(`trace: ${msg}`, 0);
  }

  /** A message at Nix's talkative level (shown with -v). */
  private talk(msg: string): void {
    if (this.settings.verbosity >= 4) this.log(msg, 4);
  }

  /** A warning as Nix prints it: multi-line messages indented, with a code frame when `pos` is given. */
  warn(msg: string, level = 'warning', pos?: Pos): void {
    // Nix leaves a message that starts on a new line unindented.
    this.log(renderError(new NixError(msg, pos), { showTrace: false, level, noIndent: msg.startsWith('\n') }), level === 'error' ? 0 : 1);
  }

  // -------------------------------------------------------------------------
  // NIX_SHOW_STATS

  /** The NIX_SHOW_STATS report, in Nix's JSON shape (keys sorted, two-space indent). */
  statsJSON(): string {
    const cpu = process.cpuUsage().user / 1e6;
    const mem = process.memoryUsage();
    const o = {
      cpuTime: cpu,
      envs: { bytes: stats.nrEnvs * 16 + stats.nrValuesInEnvs * 8, elements: stats.nrValuesInEnvs, number: stats.nrEnvs },
      gc: { cycles: 0, heapSize: mem.heapTotal, totalBytes: mem.heapUsed },
      list: { bytes: stats.nrListElems * 8, concats: stats.nrListConcats, elements: stats.nrListElems },
      nrAvoided: stats.nrAvoided,
      nrExprs: this.compiler.nrExprs,
      nrFunctionCalls: stats.nrFunctionCalls,
      nrLookups: stats.nrLookups,
      nrOpUpdateValuesCopied: stats.nrOpUpdateValuesCopied,
      nrOpUpdates: stats.nrOpUpdates,
      nrPrimOpCalls: stats.nrPrimOpCalls,
      nrThunks: stats.nrThunks,
      sets: { bytes: stats.nrAttrsets * 16 + stats.nrAttrsInAttrsets * 24, elements: stats.nrAttrsInAttrsets, number: stats.nrAttrsets },
      sizes: { Attr: 24, Bindings: 16, Env: 16, Value: 16 },
      symbols: { bytes: 0, number: symbolCount() },
      time: { cpu, gc: 0, gcFraction: 0 },
      values: { bytes: stats.nrThunks * 16, number: stats.nrThunks },
    };
    return JSON.stringify(o, null, 2);
  }
}

// ---------------------------------------------------------------------------

export { internSymbol, symbolOrder } from './symbols.js';

/** Splits `a.b."c.d".0` into its components. */
export function parseAttrPath(s: string): string[] {
  const res: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '.') {
      res.push(cur);
      cur = '';
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new EvalError(`missing closing quote in selection path '${s}'`);
        if (s[i] === '"') break;
        cur += s[i++];
      }
    } else cur += c;
  }
  if (cur !== '') res.push(cur);
  return res;
}

export function parseLookupPathEntry(s: string): LookupPathEntry {
  const i = s.indexOf('=');
  if (i < 0) return { prefix: '', path: s };
  return { prefix: s.slice(0, i), path: s.slice(i + 1) };
}

/** Follows symlinks in every component that exists; the rest of the path is kept as written. */
export function resolveSymlinksFully(path: string): string {
  try {
    return realPath(path);
  } catch {
    const parent = nodePath.dirname(path);
    if (parent === path) return path;
    return nodePath.join(resolveSymlinksFully(parent), nodePath.basename(path));
  }
}

/** A directory means its default.nix; symlinks are followed so relative paths work. */
export function resolveExprPath(path: string, shown: (p: string) => string = (p) => p): string {
  let p = path;
  try {
    for (let n = 0; n < 1024; n++) {
      if (!lstat(p).isSymbolicLink()) break;
      p = nodePath.resolve(nodePath.dirname(p), readLink(p));
    }
    if (stat(p).isDirectory()) p = nodePath.join(p, 'default.nix');
  } catch (e) {
    // A path that is not there is reported in current Nix's words; other
    // failures when the file is read.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new EvalError(`path '${shown(p)}' does not exist`);
  }
  return p;
}



export { InfiniteRecursionError };
