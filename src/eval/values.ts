// Runtime values of the Nix language, chosen so the common cases cost nothing:
//
//   null → null, Boolean → boolean, integer → NixInt (a JS number when it is
//   a safe integer, as almost all are, else a bigint; signed 64-bit, checked),
//   float → NixFloat (boxed: floats are rare, and a bare JS number means an
//   integer), string without context → string, string with context →
//   NixString, path → NixPath, list → Lazy[] (never mutated once built),
//   attribute set → NixAttrs, functions → Lambda | PrimOp | PrimOpApp.
//
// A `Lazy` is a value or a Thunk. Thunks are updated in place when forced and
// are black-holed while being forced, so re-entry reports infinite recursion.

import { EvalError, InfiniteRecursionError, NixError, TypeError } from './errors.js';
import type { Pos } from './position.js';
import { compareBytewise, sortBytewiseInPlace } from '../sort-strings.js';
import { firstInNixOrder } from './context-elements.js';
import { printAttributeName } from './literal-strings.js';

// ---------------------------------------------------------------------------
// Strings, paths

/**
 * String context elements, encoded as Nix encodes them:
 *   `/nix/store/…-foo`            an opaque store path
 *   `=/nix/store/…-foo.drv`       a derivation and its whole closure (drvPath)
 *   `!out!/nix/store/…-foo.drv`   an output of a derivation
 */
export type Context = ReadonlySet<string>;

export class NixString {
  // Hot classes declare their fields (here and below): TypeScript then emits
  // no field initializer, a separate call per construction in V8 until the
  // constructor is optimized.
  declare readonly s: string;
  declare readonly ctx: Context;
  constructor(s: string, ctx: Context) {
    this.s = s;
    this.ctx = ctx;
  }
}

export class NixPath {
  declare readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
}

/** A string value with the given context; a plain JS string when the context is empty. */
export function mkString(s: string, ctx?: Context | null): string | NixString {
  return ctx && ctx.size > 0 ? new NixString(s, ctx) : s;
}

export function mkPath(path: string): NixPath {
  return new NixPath(path);
}

export const emptyContext: Context = new Set<string>();

/**
 * Context Sets for builtins to collect into while coercing, reused: most
 * coercions (toString of a number, stringLength) collect nothing, and a new
 * Set per call was a measurable share of garbage. Taken and released in
 * LIFO order (release in a `finally`), since coercing can evaluate code
 * that coerces again.
 */
const scratchContexts: Set<string>[] = [];
let scratchDepth = 0;

export function takeScratchContext(): Set<string> {
  const s = scratchContexts[scratchDepth] ?? (scratchContexts[scratchDepth] = new Set());
  scratchDepth++;
  return s;
}

export function releaseScratchContext(): void {
  const s = scratchContexts[--scratchDepth]!;
  // clear() allocates a new table even for an empty Set, and most
  // coercions collect nothing.
  if (s.size !== 0) s.clear();
}

/** mkString with a copy of `ctx` (a scratch context, released after). */
export function mkStringCopying(s: string, ctx: ReadonlySet<string>): string | NixString {
  if (ctx.size === 0) return s;
  if (ctx.size === 1) {
    let only = '';
    ctx.forEach((c) => (only = c));
    return new NixString(s, new SingleContext(only));
  }
  return new NixString(s, new Set(ctx));
}

/**
 * A context of one element, for the strings derivationStrict returns (the
 * .drv path and each output path): a package set keeps two per derivation,
 * and a Set of one element takes five times the memory of this object.
 */
export class SingleContext implements ReadonlySet<string> {
  private declare readonly elem: string;
  constructor(elem: string) {
    this.elem = elem;
  }
  get size(): number {
    return 1;
  }
  has(value: string): boolean {
    return value === this.elem;
  }
  forEach(callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    callback.call(thisArg, this.elem, this.elem, this);
  }
  [Symbol.iterator](): IterableIterator<string> {
    return [this.elem][Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return this[Symbol.iterator]();
  }
  keys(): IterableIterator<string> {
    return this[Symbol.iterator]();
  }
  entries(): IterableIterator<[string, string]> {
    return [[this.elem, this.elem] as [string, string]][Symbol.iterator]();
  }
  /** Adds the element to `into`: what collecting a context does, without the array and iterator for-of makes. */
  addTo(into: Set<string>): void {
    into.add(this.elem);
  }
}

/** Adds a string's context to the context being collected. */
export function addContext(into: Set<string>, ctx: Context): void {
  if (ctx instanceof SingleContext) ctx.addTo(into);
  else for (const c of ctx) into.add(c);
}

// ---------------------------------------------------------------------------
// Environments and functions

/**
 * A runtime environment: slot 0 holds the enclosing Env (or null), the
 * variables of the scope follow from slot 1. Plain arrays keep allocation to
 * one object per scope.
 */
export type Env = unknown[];

/** A compiled expression. */
export type Code = (env: Env) => Value;

export interface FormalInfo {
  name: string;
  /** Compiled default, evaluated in the lambda's own environment. */
  def: Code | null;
  /** Makes the default's lazy value (reuses a variable's value as Nix's maybeThunk does). */
  defLazy: ((env: Env) => Lazy) | null;
  pos?: Pos;
}

/** Everything about a lambda that is known at compile time. */
export interface LambdaInfo {
  /** The name it is bound to (`f = x: …`), for "while calling 'f'". */
  name: string | undefined;
  pos: Pos | undefined;
  /** `x: …` or the `@x` of a pattern. */
  arg: string | undefined;
  formals: FormalInfo[] | null;
  /** formal name → index into `formals`, for the unexpected-argument check. */
  formalNames: Set<string> | null;
  ellipsis: boolean;
  /** Number of variable slots of the lambda's environment (excluding slot 0). */
  envSize: number;
  body: Code;
}

export class Lambda {
  declare readonly info: LambdaInfo;
  declare readonly env: Env;
  constructor(info: LambdaInfo, env: Env) {
    this.info = info;
    this.env = env;
  }
}

export interface PrimOpDef {
  /**
   * Nix's naming convention: `"__add"` is the global `__add` and
   * `builtins.add`; a name without `__` (`"map"`, `"toString"`) is both a
   * global and `builtins.<name>`.
   */
  name: string;
  arity: number;
  /**
   * The implementation. Arguments arrive unforced: force what you need, with
   * Nix's error context, e.g.
   * `forceList(args[0], pos, "while evaluating the first argument passed to builtins.length")`.
   * `pos` is the call site; `state` is the EvalState.
   */
  fn: (args: Lazy[], pos: Pos | undefined, state: any) => Value;
  /** Whether errors get "while calling the 'name' builtin" (default true; Nix turns it off for a few). */
  addTrace?: boolean;
  /** Only present when this experimental feature is enabled (e.g. 'flakes'). */
  experimentalFeature?: string;
  /** Only present with allow-unsafe-native-code-during-evaluation (exec, importNative). */
  nativeCodeOnly?: boolean;
}

export class PrimOp {
  readonly addTrace: boolean;
  constructor(
    readonly name: string,
    readonly arity: number,
    readonly fn: PrimOpDef['fn'],
    addTrace = true,
  ) {
    this.addTrace = addTrace;
  }
}

/** A primop applied to fewer arguments than its arity. */
export class PrimOpApp {
  declare readonly primop: PrimOp;
  declare readonly args: Lazy[];
  constructor(primop: PrimOp, args: Lazy[]) {
    this.primop = primop;
    this.args = args;
  }
}

// ---------------------------------------------------------------------------
// Attribute sets

/**
 * The names of a `{ … }` literal, known at compile time and shared by every
 * set that literal builds: instances then only hold an array of values.
 */
export class Shape {
  /** name → index into an instance's values array. */
  readonly index: Map<string, number>;
  private sorted: string[] | null = null;
  constructor(
    readonly names: string[],
    readonly pos: (Pos | undefined)[] | null,
    /** Values start at this index (1 when a `rec` set's environment doubles as its values). */
    readonly offset = 0,
  ) {
    this.index = new Map(names.map((n, i) => [n, i + offset]));
  }
  /** The position of a name's definition, if the name is here and positions are known. */
  posOf(name: string): Pos | undefined {
    if (this.pos === null) return undefined;
    const i = this.index.get(name);
    return i === undefined ? undefined : this.pos[i - this.offset];
  }

  sortedNames(): string[] {
    if (this.sorted === null) this.sorted = sortBytewiseInPlace(this.names.slice());
    return this.sorted;
  }

  /**
   * The sorted names of a layer of this Shape over a set of `base`'s, without
   * duplicates; shared, do not modify. A derivation's attributes are such a
   * layer (mkDerivation's `{ … } // removeAttrs attrs [ … ]`), the same two
   * Shapes package after package: the merge is made once, not sorted and
   * kept per derivation. The last base asked for is remembered.
   */
  sortedNamesOver(base: Shape): string[] {
    if (this.lastBase === base) return this.lastMerged!;
    const a = base.sortedNames();
    const b = this.sortedNames();
    const out: string[] = [];
    let i = 0;
    let j = 0;
    // Both are sorted in byte order; compareBytewise is that order.
    while (i < a.length && j < b.length) {
      const c = compareBytewise(a[i]!, b[j]!);
      if (c < 0) out.push(a[i++]!);
      else if (c > 0) out.push(b[j++]!);
      else {
        out.push(a[i++]!);
        j++;
      }
    }
    while (i < a.length) out.push(a[i++]!);
    while (j < b.length) out.push(b[j++]!);
    this.lastBase = base;
    return (this.lastMerged = out);
  }
  private lastBase: Shape | null = null;
  private lastMerged: string[] | null = null;

  /**
   * The last removal asked of this Shape (see without): mkDerivation's
   * `removeAttrs attrs [ "deps" ]` removes the same literal names from sets
   * of the same Shape, package after package.
   */
  private lastRemove: readonly string[] | null = null;
  private lastWithout: { shape: Shape; keep: number[] } | null = null;

  /**
   * The names left after removing `remove` (which holds at least one of
   * them): their indices into names (ascending) and their Shape, with their
   * positions. Made once per removal, so the sets removeAttrs makes from a
   * literal's sets share a Shape (as the literal's own sets share this).
   */
  without(remove: readonly string[]): { shape: Shape; keep: number[] } {
    const last = this.lastRemove;
    if (last !== null && last.length === remove.length) {
      let same = true;
      for (let i = 0; same && i < last.length; i++) same = last[i] === remove[i];
      if (same) return this.lastWithout!;
    }
    const names = this.names;
    const removed: { has(n: string): boolean } = remove.length > 8 ? new Set(remove) : { has: (n) => remove.includes(n) };
    const keep: number[] = [];
    for (let i = 0; i < names.length; i++) if (!removed.has(names[i]!)) keep.push(i);
    const key = keep.join(',');
    let shape = (this.subsets ??= new Map()).get(key);
    if (shape === undefined) {
      const pos = this.pos;
      shape = new Shape(
        keep.map((i) => names[i]!),
        pos === null ? null : keep.map((i) => pos[i]),
      );
      this.subsets.set(key, shape);
    }
    this.lastRemove = remove.slice();
    return (this.lastWithout = { shape, keep });
  }

  /** Shapes for subsets of these names, by the kept indices. */
  private subsets: Map<string, Shape> | null = null;

  /**
   * The Shape of `intersectAttrs` of a set of this Shape with another set:
   * the names whose bits `mask` sets, at positions `pos` (the first `n`,
   * taken from the other set). The last one made is reused when the same
   * names come with the same positions (callPackage intersects every
   * package's functionArgs with the same package set).
   */
  intersection(mask: number, pos: readonly (Pos | undefined)[], n: number): Shape {
    const last = this.lastIntersection;
    if (last !== null && this.lastMask === mask) {
      const lp = last.pos;
      let same = true;
      for (let i = 0; same && i < n; i++) same = (lp === null ? undefined : lp[i]) === pos[i];
      if (same) return last;
    }
    const names: string[] = [];
    for (let i = 0; i < this.names.length; i++) if ((mask & (1 << i)) !== 0) names.push(this.names[i]!);
    let known = false;
    for (let i = 0; i < n; i++) known ||= pos[i] !== undefined;
    const shape = new Shape(names, known ? pos.slice(0, n) : null);
    this.lastMask = mask;
    return (this.lastIntersection = shape);
  }
  private lastMask = 0;
  private lastIntersection: Shape | null = null;

  /**
   * How `a // b` reads its values when `a` has Shape `left` and `b` this
   * Shape (both plain sets): the Shape of the result, and per name where its
   * value is, an index into `a`'s values (>= 0) or `-1 - i` for index `i`
   * into `b`'s. Made once per pair of Shapes (a few pairs per Shape are
   * kept; undefined past them): mkDerivation's `{ … } // removeAttrs attrs
   * [ … ]` merges the same two Shapes package after package.
   */
  mergedOver(left: Shape): ShapeMerge | undefined {
    const m = this.merges?.get(left);
    return m !== undefined ? m : this.newMerge(left);
  }

  /** See mergedOver; apart, so that optimizing the lookup compiles only the lookup. */
  private newMerge(left: Shape): ShapeMerge | undefined {
    if ((this.merges ??= new Map()).size >= MAX_MERGES) return undefined;
    const names: string[] = [];
    const from: number[] = [];
    const lp = left.pos;
    const rp = this.pos;
    const pos: (Pos | undefined)[] | null = lp === null && rp === null ? null : [];
    for (let i = 0; i < left.names.length; i++) {
      const n = left.names[i]!;
      if (this.index.has(n)) continue;
      names.push(n);
      from.push(i + left.offset);
      pos?.push(lp === null ? undefined : lp[i]);
    }
    for (let i = 0; i < this.names.length; i++) {
      names.push(this.names[i]!);
      from.push(-1 - (i + this.offset));
      pos?.push(rp === null ? undefined : rp[i]);
    }
    const m = { shape: new Shape(names, pos), from };
    this.merges.set(left, m);
    return m;
  }
  private merges: Map<Shape, ShapeMerge> | null = null;

  /** The same names without positions, values from index 0 (for mapAttrs, whose entries have none). */
  unpositioned(): Shape {
    if (this.pos === null && this.offset === 0) return this;
    return (this.bare ??= new Shape(this.names, null));
  }
  private bare: Shape | null = null;
}

interface ShapeMerge {
  shape: Shape;
  from: number[];
}

/** Scratch for NixAttrs.intersectedFrom (at most 30 names). */
const intersectScratch: Lazy[] = new Array(30);
const intersectPositions: (Pos | undefined)[] = new Array(30);

/** Left Shapes a Shape keeps merges with (see Shape.mergedOver). */
const MAX_MERGES = 8;

/** Bookkeeping only some sets need (layers of `//`, merged positions, the sorted-names cache). */
interface Extra {
  base: NixAttrs | null;
  layers: number;
  /** A layer's number of distinct names, -1 until first asked for. */
  size: number;
  flat: Map<string, Lazy> | null;
  /** Positions looked up in the operands of `//` instead of being copied. */
  posL: NixAttrs | null;
  posR: NixAttrs | null;
  /**
   * How many merged sets deep the positions are looked up through operands
   * (a layer counts its base's). Bounded by MAX_POS_DEPTH: each such set
   * keeps its operands alive, so `acc // { … }` in a loop would otherwise
   * keep every earlier set, a memory quadratic in the number of updates.
   */
  posDepth: number;
  keys: string[] | null;
  /** How many of a layer's own entries are REMOVED (names removeAttrs took out of its base). */
  removed: number;
  /** Lookups that went down two layers or more; enough of them flatten the set (see deepLookup). */
  deep: number;
}

function newExtra(): Extra {
  return { base: null, layers: 0, size: -1, flat: null, posL: null, posR: null, posDepth: 0, keys: null, removed: 0, deep: 0 };
}

/**
 * An immutable attribute set, in one of two representations: a Shape plus a
 * values array (sets from literals), or a Map of values with an optional
 * parallel Map of positions. As in Nix, a set built by `//` with a small
 * right side is a layer over its left side (`base`) rather than a copy;
 * lookups fall through the layers. Sorted names are computed on demand.
 * Sets are numerous, so the object has four fields; the rest lives in `x`.
 */
export class NixAttrs {
  /** The Shape of a literal's set, or the Map of values. */
  private declare k: Shape | Map<string, Lazy>;
  /**
   * The values (Shape sets) or the positions (Map sets): a Map (possibly
   * shared with other sets and holding more names than this one), the Shape
   * of a literal whose positions the entries keep (removeAttrs,
   * intersectAttrs), or null when none are known.
   */
  private declare d: Lazy[] | Map<string, Pos> | Shape | null;
  /** Position of the `{ … }` that built this set. */
  declare pos: Pos | undefined;
  private declare x: Extra | null;

  constructor(
    m: Map<string, Lazy> | null,
    p: Map<string, Pos> | null = null,
    base: NixAttrs | null = null,
    shape: Shape | null = null,
    vals: Lazy[] | null = null,
  ) {
    if (shape !== null) {
      this.k = shape;
      this.d = vals;
    } else {
      this.k = m!;
      this.d = p;
    }
    this.pos = undefined;
    this.x = null;
    if (base !== null) {
      const x = newExtra();
      x.base = base;
      x.layers = base.layers + 1;
      x.posDepth = base.posDepth;
      this.x = x;
    }
  }

  /** What determines this set's names: its Shape when it has one (shared by many sets), else itself. */
  get namesKey(): object {
    return this.k instanceof Shape && this.base === null ? this.k : this;
  }

  /** A set from a compile-time shape and its values (in shape order). */
  static fromShape(shape: Shape, vals: Lazy[]): NixAttrs {
    return new NixAttrs(null, null, null, shape, vals);
  }

  /**
   * `removeAttrs` of a literal's set (not a layer): the kept values on a
   * sub-Shape, with the literal's positions. Undefined for other sets, which
   * removeAttrs copies into a Map. A package set keeps one such set per
   * derivation (mkDerivation's `removeAttrs attrs [ … ]`): an array of the
   * kept values is a fraction of a Map's size.
   */
  withoutNames(remove: readonly string[]): NixAttrs | undefined {
    const k = this.k;
    const x = this.x;
    if (!(k instanceof Shape) || (x !== null && (x.base !== null || x.posR !== null))) return undefined;
    const { shape, keep } = k.without(remove);
    if (keep.length === 0) return NixAttrs.empty;
    const vals = this.d as Lazy[];
    // An exact-size array: the set is kept as long as the package is.
    const kept: Lazy[] = new Array(keep.length);
    for (let i = 0; i < keep.length; i++) kept[i] = vals[keep[i]! + k.offset]!;
    return NixAttrs.fromShape(shape, kept);
  }

  /** The set this one is a layer over (`//` with a small right side). */
  get base(): NixAttrs | null {
    return this.x === null ? null : this.x.base;
  }

  get size(): number {
    const x = this.x;
    if (x !== null && x.base !== null) {
      // A layer's size is counted when first asked for: `//` itself does
      // not need it, and counting cost a lookup per name per layer.
      if (x.size < 0) {
        const base = x.base;
        let n = base.size;
        if (x.removed === 0) {
          for (const k of this.ownNames()) if (!base.has(k)) n++;
        } else {
          for (const [k, v] of this.k as Map<string, Lazy>) {
            if (v === REMOVED) {
              if (base.has(k)) n--;
            } else if (!base.has(k)) n++;
          }
        }
        x.size = n;
      }
      return x.size;
    }
    const k = this.k;
    return k instanceof Shape ? k.names.length : k.size;
  }

  /** True for `{ }` (a layer is never empty: `//` layers only non-empty sets). */
  get isEmpty(): boolean {
    const x = this.x;
    return (x === null || x.base === null) && this.ownSize === 0;
  }

  /** Number of own entries (for a layer: those of the right-hand side of `//` it holds). */
  get ownSize(): number {
    const k = this.k;
    return k instanceof Shape ? k.names.length : k.size;
  }

  get layers(): number {
    return this.x === null ? 0 : this.x.layers;
  }

  get posDepth(): number {
    return this.x === null ? 0 : this.x.posDepth;
  }

  private ownHas(name: string): boolean {
    const k = this.k;
    return k instanceof Map ? k.has(name) : k.index.has(name);
  }

  get(name: string): Lazy | undefined {
    const x0 = this.x;
    if (x0 !== null && x0.flat !== null) return x0.flat.get(name);
    let a: NixAttrs = this;
    let steps = 0;
    for (;;) {
      // The layer's own lookup, written out: this is the most called
      // method of evaluation, much of it before V8 has optimized (and
      // inlined) anything.
      const k = a.k;
      let v: Lazy | undefined;
      if (k instanceof Map) v = k.get(name);
      else {
        const i = k.index.get(name);
        v = i === undefined ? undefined : (a.d as Lazy[])[i];
      }
      if (v !== undefined) {
        if (steps >= 2) this.deepLookup();
        return v !== REMOVED ? v : undefined;
      }
      const x: Extra | null = a.x;
      if (x === null || x.base === null) break;
      a = x.base;
      steps++;
    }
    if (steps >= 2) this.deepLookup();
    return undefined;
  }

  /**
   * Counts a lookup that went down two layers or more. A set looked up
   * that way about half as many times as it has names (a package set under
   * its overlays, looked up for every dependency of every package) gets its
   * layers flattened into one Map, which later lookups use: one hash lookup
   * instead of one per layer. Half the size bounds the copy by the lookups
   * already made, so a set looked up a few times is never copied.
   */
  private deepLookup(): void {
    const x = this.x!;
    if (++x.deep > (this.size >> 1) + 64) this.flat();
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  posOf(name: string): Pos | undefined {
    // A literal's set, not a layer: one lookup in its Shape.
    if (this.x === null && this.k instanceof Shape) return this.k.posOf(name);
    let a: NixAttrs | null = this;
    do {
      if (a.ownHas(name)) {
        const k = a.k;
        if (k instanceof Shape) return k.posOf(name);
        const x = a.x;
        if (x !== null && x.posR !== null) return x.posR.has(name) ? x.posR.posOf(name) : x.posL!.posOf(name);
        const p = a.d as Map<string, Pos> | Shape | null;
        return p === null ? undefined : p instanceof Shape ? p.posOf(name) : p.get(name);
      }
      a = a.base;
    } while (a !== null);
    return undefined;
  }

  /** True when every name of this set (in every layer) is in `names`. */
  namesWithin(names: ReadonlySet<string>): boolean {
    for (let a: NixAttrs | null = this; a !== null; a = a.base) {
      const k = a.k;
      if (k instanceof Shape) {
        const ns = k.names;
        for (let i = 0; i < ns.length; i++) if (!names.has(ns[i]!)) return false;
      } else if (a.removedHere === 0) {
        for (const n of k.keys()) if (!names.has(n)) return false;
      } else for (const [n, v] of k) if (v !== REMOVED && !names.has(n)) return false;
    }
    return true;
  }

  /** How many of this layer's own entries are REMOVED. */
  get removedHere(): number {
    return this.x === null ? 0 : this.x.removed;
  }

  /** True when some layer hides names of the one below (removeAttrs). */
  private get hasRemovals(): boolean {
    for (let a: NixAttrs | null = this; a !== null; a = a.base) if (a.removedHere > 0) return true;
    return false;
  }

  /** The names of the own entries. */
  ownNames(): Iterable<string> {
    const k = this.k;
    return k instanceof Map ? k.keys() : k.names;
  }

  /** Own entries as a Map (for a layer: the right-hand side of `//`; do not modify). */
  ownMap(): Map<string, Lazy> {
    const k = this.k;
    if (k instanceof Map) return k;
    const m = new Map<string, Lazy>();
    const vals = this.d as Lazy[];
    for (let i = 0; i < k.names.length; i++) m.set(k.names[i]!, vals[i + k.offset]!);
    return m;
  }

  /** Own positions as a Map (do not modify). */
  ownPositions(): Map<string, Pos> | null {
    const k = this.k;
    if (k instanceof Shape) {
      const sp = k.pos;
      if (sp === null) return null;
      const p = new Map<string, Pos>();
      for (let i = 0; i < sp.length; i++) if (sp[i]) p.set(k.names[i]!, sp[i]!);
      return p;
    }
    const x = this.x;
    if (x !== null && x.posR !== null) return mergePositions(x.posL!, x.posR);
    const d = this.d as Map<string, Pos> | Shape | null;
    if (d === null) return null;
    // Shared positions may hold other names: copy just this set's.
    const p = new Map<string, Pos>();
    for (const name of k.keys()) {
      const ps = d instanceof Shape ? d.posOf(name) : d.get(name);
      if (ps) p.set(name, ps);
    }
    return p.size > 0 ? p : null;
  }

  /** The layers from the bottom (a plain set) up to this one. */
  chain(): NixAttrs[] {
    const c: NixAttrs[] = [];
    for (let a: NixAttrs | null = this; a !== null; a = a.base) c.push(a);
    return c.reverse();
  }

  /** All entries in one Map, in no particular order (do not modify). */
  flat(): Map<string, Lazy> {
    if (this.base === null) return this.ownMap();
    const x = this.x!;
    if (x.flat === null) {
      const c = this.chain();
      const f = new Map(c[0]!.ownMap());
      for (let i = 1; i < c.length; i++) {
        for (const [k, v] of c[i]!.ownMap()) {
          if (v !== REMOVED) f.set(k, v);
          else f.delete(k);
        }
      }
      x.flat = f;
    }
    return x.flat;
  }

  /** All positions in one Map (null when none are known). */
  flatPositions(): Map<string, Pos> | null {
    if (this.base === null) return this.ownPositions();
    const c = this.chain();
    const ps = c.map((a) => a.ownPositions());
    if (ps.every((p) => p === null)) return null;
    const r = new Map(ps[0] ?? []);
    for (let i = 1; i < c.length; i++) {
      const ap = ps[i];
      for (const k of c[i]!.ownMap().keys()) {
        const x = ap?.get(k);
        if (x) r.set(k, x);
        else r.delete(k);
      }
    }
    return r;
  }

  /** Names sorted as Nix sorts them (byte order of the names). */
  keys(): string[] {
    const k = this.k;
    if (k instanceof Shape && this.base === null) return k.sortedNames();
    if (k instanceof Shape) {
      // A layer of a literal's names over another's (and nothing below).
      const base = this.x!.base!;
      const bk = base.k;
      if (base.base === null && bk instanceof Shape) return k.sortedNamesOver(bk);
    }
    const x = (this.x ??= newExtra());
    if (x.keys === null) {
      if (this.base === null || x.flat !== null || this.hasRemovals) x.keys = sortBytewiseInPlace([...this.flat().keys()]);
      else {
        // The names of every layer, sorted, without duplicates: flat()
        // would build (and this set keep) a Map of all the entries, and a
        // derivation's attributes are usually layered.
        const ks: string[] = [];
        for (let a: NixAttrs | null = this; a !== null; a = a.base) for (const n of a.ownNames()) ks.push(n);
        sortBytewiseInPlace(ks);
        let j = 0;
        for (let i = 0; i < ks.length; i++) if (i === 0 || ks[i] !== ks[j - 1]) ks[j++] = ks[i]!;
        // An exact copy: the set keeps it, and ks has grown by push.
        x.keys = ks.slice(0, j);
      }
    }
    return x.keys;
  }

  /**
   * A set of the same names with `fn` of each value and no positions (as
   * mapAttrs makes). A literal's set gives a set on its Shape, just an array
   * of values; a layered set is read layer by layer from the bottom, with
   * no flattened copy of it made (and kept) first.
   */
  mapValues(fn: (name: string, v: Lazy) => Lazy): NixAttrs {
    const k = this.k;
    if (this.base === null) {
      if (k instanceof Shape) {
        const names = k.names;
        const vals = this.d as Lazy[];
        const out: Lazy[] = new Array(names.length);
        for (let i = 0; i < names.length; i++) out[i] = fn(names[i]!, vals[i + k.offset]!);
        return NixAttrs.fromShape(k.unpositioned(), out);
      }
      const m = new Map<string, Lazy>();
      for (const [name, v] of k) m.set(name, fn(name, v));
      return new NixAttrs(m);
    }
    const x = this.x!;
    const m = new Map<string, Lazy>();
    if (x.flat !== null) for (const [name, v] of x.flat) m.set(name, fn(name, v));
    else {
      // Bottom up, a name's last entry winning (an entry a layer above
      // overrides costs a value made for nothing, which is cheap).
      for (const l of this.chain()) {
        for (const [name, v] of l.ownMap()) {
          if (v === REMOVED) m.delete(name);
          else m.set(name, fn(name, v));
        }
      }
    }
    return new NixAttrs(m);
  }

  /** Entries in sorted order. */
  *entries(): IterableIterator<[string, Lazy]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }

  /**
   * Where `source` keeps the positions of all of `m`'s names (which it has),
   * when that is one store other sets may share: the names come from a set
   * below its layers (no layer above owns one of them). Undefined when the
   * positions are spread over layers or over the operands of `//`.
   */
  private static sharedPositionsOf(m: Map<string, Lazy>, source: NixAttrs): Map<string, Pos> | Shape | null | undefined {
    let s = source;
    for (;;) {
      const x = s.x;
      if (x !== null && x.base !== null) {
        // Whichever is smaller is walked: callPackage takes a few names from
        // a package set whose layers may be big.
        if (m.size < s.ownSize) {
          for (const n of m.keys()) if (s.ownHas(n)) return undefined;
        } else for (const n of s.ownNames()) if (m.has(n)) return undefined;
        s = x.base;
      } else if (x !== null && x.posR !== null) return undefined;
      else {
        const k = s.k;
        return k instanceof Shape ? (k.pos === null ? null : k) : (s.d as Map<string, Pos> | Shape | null);
      }
    }
  }

  /** See attrsWithPositionsOf. */
  static withPositionSource(m: Map<string, Lazy>, source: NixAttrs): NixAttrs {
    const r = new NixAttrs(m, null);
    // Share where the source keeps its positions (a literal's Shape, or a
    // Map no one changes), also from below its layers, instead of copying
    // them, and without keeping the source's values alive; where they are
    // spread over layers or `//` operands, copy these names' positions.
    const shared = NixAttrs.sharedPositionsOf(m, source);
    if (shared !== undefined) r.d = shared;
    else {
      // Look up just these names: flattening a big layered set (the
      // package set callPackage intersects with) would cost its size.
      const p = new Map<string, Pos>();
      for (const name of m.keys()) {
        const ps = source.posOf(name);
        if (ps) p.set(name, ps);
      }
      r.d = p.size > 0 ? p : null;
    }
    return r;
  }

  /**
   * `this // b` as one set on a Shape of its own, when both are plain sets
   * of literals' Shapes and small together (see MERGE_MAX): an array of the
   * values, smaller than a layer (a set and its bookkeeping) over `this`,
   * which lookups then need not walk. Undefined otherwise.
   */
  mergedSmall(b: NixAttrs): NixAttrs | undefined {
    const ak = this.k;
    const bk = b.k;
    if (this.x !== null || b.x !== null || !(ak instanceof Shape) || !(bk instanceof Shape)) return undefined;
    if (ak.names.length + bk.names.length > MERGE_MAX) return undefined;
    const m = bk.mergedOver(ak);
    if (m === undefined) return undefined;
    const from = m.from;
    const av = this.d as Lazy[];
    const bv = b.d as Lazy[];
    const vals: Lazy[] = new Array(from.length);
    for (let i = 0; i < from.length; i++) {
      const j = from[i]!;
      vals[i] = j >= 0 ? av[j]! : bv[-1 - j]!;
    }
    const r = NixAttrs.fromShape(m.shape, vals);
    r.pos = b.pos;
    return r;
  }

  /**
   * `intersectAttrs this r`, when this is a literal's set of at most 30
   * names (callPackage's functionArgs): the values `r` has for those names
   * on a Shape of them with `r`'s positions (see Shape.intersection), which
   * `//` then merges with a small literal's set instead of layering.
   * Undefined for other sets.
   */
  intersectedFrom(r: NixAttrs): NixAttrs | undefined {
    const k = this.k;
    if (this.x !== null || !(k instanceof Shape) || k.names.length > 30) return undefined;
    const names = k.names;
    const found = intersectScratch;
    let mask = 0;
    let n = 0;
    for (let i = 0; i < names.length; i++) {
      const v = r.get(names[i]!);
      if (v !== undefined) {
        mask |= 1 << i;
        found[n++] = v;
      }
    }
    if (n === 0) return NixAttrs.empty;
    const pos = intersectPositions;
    for (let i = 0, j = 0; i < names.length; i++) if ((mask & (1 << i)) !== 0) pos[j++] = r.posOf(names[i]!);
    const shape = k.intersection(mask, pos, n);
    // Exact size: the set may be kept. The scratch arrays let go of what
    // they held.
    const vals: Lazy[] = new Array(n);
    for (let i = 0; i < n; i++) {
      vals[i] = found[i]!;
      found[i] = undefined!;
      pos[i] = undefined;
    }
    return NixAttrs.fromShape(shape, vals);
  }

  /** For `//`: `top` (a plain set) as a layer over `base`, sharing top's storage. */
  static layerOver(top: NixAttrs, base: NixAttrs): NixAttrs {
    const r = new NixAttrs(emptyValues);
    r.k = top.k;
    r.d = top.d;
    const x = newExtra();
    x.base = base;
    x.layers = base.layers + 1;
    x.posDepth = base.posDepth;
    r.x = x;
    return r;
  }

  /** For `//`: a layer of `own` over `base`. */
  static layer(own: Map<string, Lazy>, ownPos: Map<string, Pos> | null, base: NixAttrs, removed = 0): NixAttrs {
    const r = new NixAttrs(own, ownPos, base);
    r.x!.removed = removed;
    return r;
  }

  /** For `//`: a full copy whose positions come from the operands. */
  static merged(m: Map<string, Lazy>, a: NixAttrs, b: NixAttrs): NixAttrs {
    const r = new NixAttrs(m, null);
    const depth = Math.max(a.posDepth, b.posDepth) + 1;
    if (depth > MAX_POS_DEPTH) r.d = mergePositions(a, b);
    else {
      const x = newExtra();
      x.posL = a;
      x.posR = b;
      x.posDepth = depth;
      r.x = x;
    }
    return r;
  }

  /** True when positions are resolved through `//` operands (not kept with the values, so layerOver cannot share them). */
  get mergedPositions(): boolean {
    return this.x !== null && this.x.posR !== null;
  }

  static readonly empty = new NixAttrs(new Map());
}

const emptyValues = new Map<string, Lazy>();

const MAX_LAYERS = 8;
const LAYER_RHS_THRESHOLD = 16;
/** `//` of two literals' sets with at most this many names together makes one set, not a layer. */
const MERGE_MAX = 16;
const MAX_POS_DEPTH = 8;
/** removeAttrs layers over sets of at least this size (so a set with REMOVED entries is never small: see updateAttrs). */
const REMOVE_LAYER_MIN = 64;

/** `a // b`, layering small right sides and merging otherwise. */
export function updateAttrs(a: NixAttrs, b: NixAttrs): NixAttrs {
  if (a.isEmpty) return b;
  if (b.isEmpty) return a;
  const merged = a.mergedSmall(b);
  if (merged !== undefined) return merged;
  if (b.size <= LAYER_RHS_THRESHOLD && a.layers < MAX_LAYERS - 1) {
    const plain = b.base === null && !b.mergedPositions;
    if (!plain && b.base !== null && a.layers + b.layers < MAX_LAYERS - 1) {
      // A layered right side (`x // (y // z)`): put its layers, which share
      // their storage, on top of `a` one by one instead of flattening it.
      let bottom = b;
      while (bottom.base !== null) bottom = bottom.base;
      if (!bottom.mergedPositions) {
        const acc = layersOver(b, a);
        acc.pos = b.pos;
        return acc;
      }
    }
    const r = plain ? NixAttrs.layerOver(b, a) : NixAttrs.layer(b.flat(), b.flatPositions(), a);
    r.pos = b.pos;
    return r;
  }
  if (a.size <= LAYER_RHS_THRESHOLD && b.size > LAYER_RHS_THRESHOLD) {
    // A small left side under a big right one (`{ x = …; } // acc` in a
    // loop): of `a` only the names `b` lacks survive, so `a // b` is `b`
    // with those entries added, which layers over `b` instead of copying it.
    let m: Map<string, Lazy> | null = null;
    let p: Map<string, Pos> | null = null;
    for (const [k, v] of a.flat()) {
      if (b.has(k)) continue;
      (m ??= new Map()).set(k, v);
      const ps = a.posOf(k);
      if (ps) (p ??= new Map()).set(k, ps);
    }
    if (m === null) return b;
    const r = updateAttrs(b, new NixAttrs(m, p));
    r.pos = b.pos;
    return r;
  }
  // A right side that is small next to the set at the bottom of `a`: fold
  // the layers of `a` and `b` into one delta over that set, so big sets are
  // not copied again and again (overlays on a package set, or a set grown
  // one entry at a time, whose copies then grow geometrically).
  const bottom = foldBottom(a, b.size);
  if (bottom !== null) {
    const r = foldOnto(a, bottom, b.flat(), b.flatPositions());
    r.pos = b.pos;
    return r;
  }
  stats.nrOpUpdateValuesCopied += a.size + b.size;
  const m = new Map(a.flat());
  for (const [k, v] of b.flat()) m.set(k, v);
  const r = NixAttrs.merged(m, a, b);
  r.pos = b.pos;
  return r;
}

/**
 * The set at the bottom of `a`'s layers, when a delta holding `a`'s layers
 * and `extra` more entries stays small next to it (an eighth); else null.
 */
function foldBottom(a: NixAttrs, extra: number): NixAttrs | null {
  let bottom: NixAttrs = a;
  let removed = 0;
  while (bottom.base !== null) {
    removed += bottom.removedHere;
    bottom = bottom.base;
  }
  // Names added over the bottom, those removed from it (each counted in
  // the size difference with the opposite sign) and the layers' overrides.
  const deltaSize = a.layers === 0 ? 0 : a.size - bottom.size + 2 * removed + a.layers * LAYER_RHS_THRESHOLD;
  return extra + deltaSize <= bottom.size / 8 ? bottom : null;
}

/**
 * `a` with `entries` put over it (REMOVED among them hides a name) as one
 * layer over `bottom` or a layer above it. Only the top layers are merged,
 * like an LSM tree: a layer joins while there are too many layers or it is
 * not much bigger than what is merged so far. Repeated small updates then
 * copy each entry O(log n) times instead of copying the whole delta every
 * few updates.
 */
function foldOnto(a: NixAttrs, bottom: NixAttrs, entries: Map<string, Lazy>, entriesPos: Map<string, Pos> | null): NixAttrs {
  const top: NixAttrs[] = [];
  for (let l: NixAttrs = a; l.base !== null; l = l.base) top.push(l);
  let merged = entries.size;
  let nTop = 0;
  while (nTop < top.length && (top.length - nTop >= MAX_LAYERS - 1 || top[nTop]!.ownSize <= 2 * merged)) merged += top[nTop++]!.ownSize;
  const under = nTop < top.length ? top[nTop]! : bottom;
  const delta = new Map<string, Lazy>();
  let deltaPos: Map<string, Pos> | null = null;
  const put = (k: string, v: Lazy, ps: Pos | undefined): void => {
    delta.set(k, v);
    if (ps) (deltaPos ??= new Map()).set(k, ps);
    else deltaPos?.delete(k);
  };
  const layers = top.slice(0, nTop).reverse();
  for (const l of layers) {
    const lp = l.ownPositions();
    for (const [k, v] of l.ownMap()) put(k, v, lp?.get(k));
  }
  for (const [k, v] of entries) put(k, v, entriesPos?.get(k));
  stats.nrOpUpdateValuesCopied += delta.size;
  let removed = 0;
  for (const v of delta.values()) if (v === REMOVED) removed++;
  return NixAttrs.layer(delta, deltaPos, under, removed);
}

/**
 * `removeAttrs a names` as a layer hiding the names, when `a` is big and
 * few of its names go (a copy of the rest would cost ≈100 ns a name, a
 * removal in a loop over a big set then being quadratic). Undefined when a
 * copy is the better result: for small sets, many names, or a delta grown
 * too big next to the set it lies over.
 */
export function removeByLayer(a: NixAttrs, names: readonly string[]): NixAttrs | undefined {
  const size = a.size;
  if (size < REMOVE_LAYER_MIN || names.length > size / 8) return undefined;
  const hidden = new Map<string, Lazy>();
  for (let i = 0; i < names.length; i++) if (a.has(names[i]!)) hidden.set(names[i]!, REMOVED);
  if (hidden.size === 0) return a;
  if (a.layers < MAX_LAYERS - 1) return NixAttrs.layer(hidden, null, a, hidden.size);
  const bottom = foldBottom(a, hidden.size);
  return bottom === null ? undefined : foldOnto(a, bottom, hidden, null);
}

/**
 * The layers of `top`, bottom first, put over `base` one by one (sharing
 * their storage). Recursive rather than through chain(): no array per
 * `x // (y // z)`, and the depth is at most MAX_LAYERS.
 */
function layersOver(top: NixAttrs, base: NixAttrs): NixAttrs {
  const under = top.base;
  return NixAttrs.layerOver(top, under === null ? base : layersOver(under, base));
}

/** The positions of `a // b` as one Map (null when none are known). */
function mergePositions(a: NixAttrs, b: NixAttrs): Map<string, Pos> | null {
  const pa = a.flatPositions();
  const pb = b.flatPositions();
  if (pa === null && pb === null) return null;
  const p = new Map(pa ?? []);
  for (const k of b.flat().keys()) {
    const ps = pb?.get(k);
    if (ps) p.set(k, ps);
    else p.delete(k);
  }
  return p;
}

/** Builds a set from a Map (takes ownership). */
export function mkAttrs(m: Map<string, Lazy>, p?: Map<string, Pos> | null): NixAttrs {
  return m.size === 0 && !p ? NixAttrs.empty : new NixAttrs(m, p ?? null);
}

/**
 * A set of entries taken, with their names, from `source` (takes ownership
 * of the Map): their positions are looked up there when asked for.
 */
export function attrsWithPositionsOf(m: Map<string, Lazy>, source: NixAttrs): NixAttrs {
  return m.size === 0 ? NixAttrs.empty : NixAttrs.withPositionSource(m, source);
}

export function attrsFromObject(o: Record<string, Lazy>): NixAttrs {
  return new NixAttrs(new Map(Object.entries(o)));
}

// ---------------------------------------------------------------------------
// Values and thunks

export type Value =
  | null
  | boolean
  | NixInt
  | NixFloat
  | string
  | NixString
  | NixPath
  | Lazy[]
  | NixAttrs
  | Lambda
  | PrimOp
  | PrimOpApp;

export type Lazy = Value | Thunk;

/** Counters for NIX_SHOW_STATS. */
export const stats = {
  nrThunks: 0,
  nrEnvs: 0,
  nrValuesInEnvs: 0,
  nrFunctionCalls: 0,
  nrPrimOpCalls: 0,
  nrLookups: 0,
  nrAttrsets: 0,
  nrAttrsInAttrsets: 0,
  nrListElems: 0,
  nrOpUpdates: 0,
  nrOpUpdateValuesCopied: 0,
  nrListConcats: 0,
  nrAvoided: 0,
};

export class InfiniteRecursion extends InfiniteRecursionError {
  constructor(
    readonly thunk: Thunk,
    pos: Pos | undefined,
  ) {
    super('infinite recursion encountered', pos);
  }
}

/** Marks a thunk whose evaluation failed (its `v` holds the error). */
const FAILED: Code = () => {
  throw new Error('failed thunk');
};
/** The code of thunks that compute by other means (AppThunk, FnThunk). */
export const SPECIAL: Code = () => {
  throw new Error('special thunk');
};
/** Marks a thunk being forced (its `v` still holds the environment): forcing it again is infinite recursion. */
const BLACKHOLE: Code = () => {
  throw new Error('blackholed thunk');
};

/**
 * A suspended computation. `code(env)` computes the value; afterwards the
 * code and env are dropped so the environment can be collected. Two fields
 * encode the state (thunks are the most numerous objects, and a package set
 * keeps about ten per package, so each field counts): pending (`code` set,
 * `v` the environment), being forced (`code` BLACKHOLE, `v` still the
 * environment: re-entry is infinite recursion), done (`code` null, `v` the
 * value), failed (`code` FAILED, `v` the error).
 */
export class Thunk {
  // `declare`: the constructor sets both, so the class needs no field
  // initializer, which V8 runs as a call of its own on each construction
  // (a cost of every thunk until the constructor is optimized).
  declare v: unknown;
  declare code: Code | null;

  constructor(code: Code, env: Env) {
    this.v = env;
    this.code = code;
  }

  force(pos?: Pos): Value {
    const code = this.code;
    if (code === null) return this.v as Value;
    // The slow path is here rather than in a method of its own, and compiled
    // code is called directly (only AppThunk and FnThunk compute by other
    // means): each level of a chain of thunks then nests one JS frame, which
    // deep chains (and the GC scanning their stack) multiply.
    if (code === FAILED) throw cloneError(this.v as NixError);
    if (code === BLACKHOLE) throw new InfiniteRecursion(this, pos);
    const env = this.v as Env;
    this.code = BLACKHOLE;
    try {
      const v = code === SPECIAL ? this.compute(code, env, pos) : code(env);
      this.v = v;
      this.code = null;
      return v;
    } catch (e) {
      throw this.failed(e, code, env);
    }
  }

  /** Records a failed forcing; returns the error to rethrow. */
  private failed(e: unknown, code: Code, env: Env): unknown {
    if (e instanceof InfiniteRecursion && e.thunk === this) {
      e.addTrace(undefined, 'entering the infinite recursion', true);
    }
    if (e instanceof NixError && !isUncacheable(e)) {
      // Nix remembers the failure: forcing again throws a copy of this
      // error, with the frames it has collected by then (the original
      // keeps collecting frames as it unwinds further).
      this.code = FAILED;
      this.v = e;
    } else {
      // Pending again: forcing it later may succeed.
      this.code = code;
      this.v = env;
    }
    return e;
  }

  protected compute(code: Code, env: Env, _pos: Pos | undefined): Value {
    return code(env);
  }

  /** True once forced successfully. */
  get forced(): boolean {
    return this.code === null;
  }

  /** True while being forced. */
  get blackholed(): boolean {
    return this.code === BLACKHOLE;
  }

  /** True when not yet forced (nor failed). */
  get pending(): boolean {
    return this.code !== null && this.code !== FAILED && this.code !== BLACKHOLE;
  }
}

/**
 * Puts the values of a list's forced elements in place of their thunks:
 * derivationStrict calls it on the lists it has coerced (buildInputs, args),
 * which a package set keeps, thunks and all (40 bytes or more each, copied
 * twice by the young-generation collector). A forced thunk and its value
 * are the same Nix value to everything but eqValues, which takes values
 * stored in one slot to be equal even when they are functions or NaN: a
 * slot shared with another list or set (`//` and `++` copy them) must keep
 * comparing as the same, so functions and floats stay behind their thunks.
 */
export function replaceForcedElements(list: Lazy[]): void {
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (!(x instanceof Thunk) || x.code !== null) continue;
    const v = x.v as Value;
    if (typeof v !== 'object' || v === null || v instanceof NixString || v instanceof NixAttrs || Array.isArray(v) || v instanceof NixPath) list[i] = v;
  }
}

/** A copy of an error whose trace frames can grow independently. */
export function cloneError<E extends NixError>(e: E): E {
  const c = Object.create(Object.getPrototypeOf(e)) as E;
  for (const k of Object.getOwnPropertyNames(e)) Object.defineProperty(c, k, Object.getOwnPropertyDescriptor(e, k)!);
  c.traces = e.traces.slice();
  return c;
}

/** Errors that must not be remembered by a thunk (they depend on the stack, not the value). */
function isUncacheable(e: NixError): boolean {
  return e.constructor.name === 'StackOverflowError';
}

/** Placeholder environment for thunks that are not compiled code. */
export const noEnv: Env = [];

/** A thunk whose value is already known (used where an API wants a Thunk). */
export function thunkOf(v: Value): Thunk {
  const t = new Thunk(SPECIAL, noEnv);
  t.v = v;
  t.code = null;
  return t;
}

/**
 * Deferred application `f x` (Nix's tApp), e.g. the elements of `map f xs`.
 * Like Nix, the call site is the position the value is forced with.
 */
export class AppThunk extends Thunk {
  declare arg: Lazy;
  constructor(fn: Lazy, arg: Lazy) {
    // The function waits where a thunk's environment does (see Thunk).
    super(SPECIAL, fn as unknown as Env);
    this.arg = arg;
  }
  /** The function applied (while pending). */
  get fn(): Lazy {
    return this.v as Lazy;
  }
  protected override compute(_code: Code, fn: Env, pos: Pos | undefined): Value {
    const r = callFunction1Hook(fn as unknown as Lazy, this.arg, pos);
    // Let the argument be collected once the result is known (the function
    // goes with the environment).
    this.arg = null;
    return r;
  }
}

/** Nix's Value::determinePos: where a value was defined, when that is known. */
export function determinePos(x: Lazy, fallback?: Pos): Pos | undefined {
  if (x instanceof Thunk) {
    if (x.forced) return determinePos(x.force(), fallback);
    if (x instanceof AppThunk && x.pending) return determinePos(x.fn, fallback);
    return fallback;
  }
  if (x instanceof NixAttrs) return x.pos ?? fallback;
  if (x instanceof Lambda) return x.info.pos ?? fallback;
  return fallback;
}

/** A deferred computation from a JS closure (for builtins building lazy results). */
export class FnThunk extends Thunk {
  constructor(f: () => Value) {
    // The closure waits where a thunk's environment does (see Thunk).
    super(SPECIAL, f as unknown as Env);
  }
  protected override compute(_code: Code, f: Env): Value {
    return (f as unknown as () => Value)();
  }
}

export function lazy(f: () => Value): Thunk {
  return new FnThunk(f);
}

/**
 * Stands, in a layer's own entries, for a name removeAttrs took out of the
 * layer's base (see removeByLayer). Never a value anyone sees: get() and
 * flat() skip it, and forcing it would be a bug, so it fails loudly.
 */
export const REMOVED: Thunk = lazy(() => {
  throw new Error('internal error: a removed attribute was read');
});

/** Installed by the evaluator: apply a function value to arguments. */
export let callFunctionHook: (fn: Lazy, args: Lazy[], pos: Pos | undefined) => Value = () => {
  throw new Error('evaluator not initialised');
};
export function setCallFunctionHook(f: typeof callFunctionHook, f1?: typeof callFunction1Hook): void {
  callFunctionHook = f;
  if (f1) callFunction1Hook = f1;
}

/** Installed by the evaluator: apply a function value to one argument. */
export let callFunction1Hook: (fn: Lazy, arg: Lazy, pos: Pos | undefined) => Value = (fn, arg, pos) => callFunctionHook(fn, [arg], pos);

/** Installed by print-value: how values are shown inside error messages. */
export let showValueHook: (v: Value) => string = (v) => String(v);
export function setShowValueHook(f: typeof showValueHook): void {
  showValueHook = f;
}

export function force(v: Lazy, pos?: Pos): Value {
  return v instanceof Thunk ? v.force(pos) : v;
}

export function isFunction(v: Value): v is Lambda | PrimOp | PrimOpApp {
  return v instanceof Lambda || v instanceof PrimOp || v instanceof PrimOpApp;
}

export function isStringValue(v: Value): v is string | NixString {
  return typeof v === 'string' || v instanceof NixString;
}

export function stringOf(v: string | NixString): string {
  return typeof v === 'string' ? v : v.s;
}

export function contextOf(v: string | NixString): Context {
  return typeof v === 'string' ? emptyContext : v.ctx;
}

// ---------------------------------------------------------------------------
// Type names, as Nix prints them in errors

/** "an integer", "a set", … (Nix's showType(ValueType)). */
export function typeName(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'a Boolean';
    case 'bigint':
    case 'number':
      return 'an integer';
    case 'string':
      return 'a string';
  }
  if (v instanceof NixFloat) return 'a float';
  if (v instanceof NixString) return 'a string';
  if (v instanceof NixPath) return 'a path';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof NixAttrs) return 'a set';
  return 'a function';
}

/** Nix's showType(Value): more detailed for strings with context and builtins. */
export function showType(v: Value): string {
  if (v instanceof NixString) return 'a string with context';
  if (v instanceof PrimOp) return `the built-in function '${v.name}'`;
  if (v instanceof PrimOpApp) return `the partially applied built-in function '${v.primop.name}'`;
  return typeName(v);
}

/** The `builtins.typeOf` name. */
export function typeOf(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'bigint':
    case 'number':
      return 'int';
    case 'string':
      return 'string';
  }
  if (v instanceof NixFloat) return 'float';
  if (v instanceof NixString) return 'string';
  if (v instanceof NixPath) return 'path';
  if (Array.isArray(v)) return 'list';
  if (v instanceof NixAttrs) return 'set';
  return 'lambda';
}

// ---------------------------------------------------------------------------
// Typed forcing with Nix's errors. `ctx` is the trace hint Nix adds at `pos`
// ("while evaluating the first argument passed to builtins.head").

function withCtx(e: unknown, pos: Pos | undefined, ctx: string | undefined): unknown {
  if (ctx !== undefined && e instanceof NixError) e.addTrace(pos, ctx);
  return e;
}

function typeError(expected: string, v: Value, pos: Pos | undefined): TypeError {
  return new TypeError(`expected ${expected} but found ${showType(v)}: ${showValueHook(v)}`, pos);
}

export function forceAttrs(x: Lazy, pos?: Pos, ctx?: string): NixAttrs {
  const v = force(x, pos);
  if (v instanceof NixAttrs) return v;
  // Nix's forceAttrs puts the position on the trace only, not on the error.
  throw withCtx(typeError('a set', v, undefined), pos, ctx ?? '');
}

/**
 * Nix's EvalState::getAttr for builtins: a missing attribute is a TypeError
 * whose context is a position-less frame.
 */
export function requireAttr(attrs: NixAttrs, name: string, ctx: string): Lazy {
  const v = attrs.get(name);
  if (v === undefined) {
    const e = new TypeError(`attribute '${printAttributeName(name)}' missing`);
    e.addTrace(undefined, ctx);
    throw e;
  }
  return v;
}

export function forceList(x: Lazy, pos?: Pos, ctx?: string): Lazy[] {
  const v = force(x, pos);
  if (Array.isArray(v)) return v;
  throw withCtx(typeError('a list', v, undefined), pos, ctx ?? '');
}

function forceChecked<T>(x: Lazy, pos: Pos | undefined, ctx: string | undefined, check: (v: Value) => T | undefined, expected: string): T {
  try {
    const v = force(x, pos);
    const r = check(v);
    if (r === undefined) throw typeError(expected, v, pos);
    return r;
  } catch (e) {
    throw withCtx(e, pos, ctx);
  }
}

export function forceInt(x: Lazy, pos?: Pos, ctx?: string): NixInt {
  if (typeof x === 'number') return x;
  return forceChecked(x, pos, ctx, (v) => (isInt(v) ? v : undefined), 'an integer');
}

/** A float, accepting integers as Nix's forceFloat does. */
export function forceFloat(x: Lazy, pos?: Pos, ctx?: string): number {
  return forceChecked(x, pos, ctx, (v) => (v instanceof NixFloat ? v.v : isInt(v) ? Number(v) : undefined), 'a float');
}

export function forceBool(x: Lazy, pos?: Pos, ctx?: string): boolean {
  if (typeof x === 'boolean') return x;
  return forceChecked(x, pos, ctx, (v) => (typeof v === 'boolean' ? v : undefined), 'a Boolean');
}

export function forceFunction(x: Lazy, pos?: Pos, ctx?: string): Value {
  return forceChecked(
    x,
    pos,
    ctx,
    (v) => (isFunction(v) || (v instanceof NixAttrs && v.has('__functor')) ? v : undefined),
    'a function',
  );
}

/** A string value (with its context). */
export function forceStringValue(x: Lazy, pos?: Pos, ctx?: string): string | NixString {
  if (typeof x === 'string') return x;
  return forceChecked(x, pos, ctx, (v) => (typeof v === 'string' || v instanceof NixString ? v : undefined), 'a string');
}

/** The characters of a string value, ignoring its context. */
export function forceString(x: Lazy, pos?: Pos, ctx?: string): string {
  if (typeof x === 'string') return x;
  return stringOf(forceStringValue(x, pos, ctx));
}

/** A string that must not have a context (attribute names, file names, …). */
export function forceStringNoCtx(x: Lazy, pos?: Pos, ctx?: string): string {
  if (typeof x === 'string') return x;
  const v = forceStringValue(x, pos, ctx);
  if (typeof v === 'string') return v;
  const first = firstInNixOrder(v.ctx)!;
  throw withCtx(
    new EvalError(`the string '${v.s}' is not allowed to refer to a store path (such as '${displayContextElem(first)}')`),
    pos,
    ctx ?? '',
  );
}

/** How Nix shows a context element in messages: the path, or `drv^out`. */
export function displayContextElem(elem: string): string {
  if (elem.startsWith('=')) return elem.slice(1);
  if (elem.startsWith('!')) {
    const i = elem.indexOf('!', 1);
    return `${elem.slice(i + 1)}^${elem.slice(1, i)}`;
  }
  return elem;
}

export function isDerivation(v: Value): boolean {
  if (!(v instanceof NixAttrs)) return false;
  const t = v.get('type');
  if (t === undefined) return false;
  const tv = force(t, v.posOf('type'));
  return (typeof tv === 'string' ? tv : tv instanceof NixString ? tv.s : undefined) === 'derivation';
}

// ---------------------------------------------------------------------------
// Integers

/**
 * A Nix integer (signed 64 bits). Safe integers (|n| < 2^53, nearly all of
 * them) are JS numbers, which V8 keeps unboxed and computes on natively; the
 * rest are bigints. Every producer normalises with mkInt, but consumers
 * accept either form for any value.
 */
export type NixInt = number | bigint;

/** A Nix float; boxed so that a bare JS number always means an integer. */
export class NixFloat {
  declare readonly v: number;
  constructor(v: number) {
    this.v = v;
  }
}

export function isInt(v: unknown): v is NixInt {
  return typeof v === 'number' || typeof v === 'bigint';
}

export const INT_MIN = -(1n << 63n);
export const INT_MAX = (1n << 63n) - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** The canonical form of an integer: a number when safe (never -0), else a bigint. */
export function mkInt(x: number | bigint): NixInt {
  if (typeof x === 'number') return x === 0 ? 0 : x;
  return x >= SAFE_MIN && x <= SAFE_MAX ? Number(x) : x;
}

export function intToBigInt(x: NixInt): bigint {
  return typeof x === 'bigint' ? x : BigInt(x);
}

/** A JS number for an integer used as a count or index (saturating beyond 2^53). */
export function intToNumber(x: NixInt): number {
  if (typeof x === 'number') return x;
  return x > SAFE_MAX ? Number.MAX_SAFE_INTEGER : x < SAFE_MIN ? Number.MIN_SAFE_INTEGER : Number(x);
}

/** A bigint result checked against 64 bits, normalised. */
function checked64(r: bigint, op: string, a: NixInt, b: NixInt, pos: Pos | undefined): NixInt {
  if (r > INT_MAX || r < INT_MIN) throw new EvalError(`integer overflow in ${op} ${a} ${OP_SIGN[op]} ${b}`, pos);
  return mkInt(r);
}
const OP_SIGN: Record<string, string> = { adding: '+', subtracting: '-', multiplying: '*', dividing: '/' };

// On two numbers a result that is a safe integer is exact: a rounded
// result would be at least 2^53 away from zero. Otherwise BigInt decides.
export function checkedAdd(a: NixInt, b: NixInt, pos?: Pos): NixInt {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  return checked64(intToBigInt(a) + intToBigInt(b), 'adding', a, b, pos);
}
export function checkedSub(a: NixInt, b: NixInt, pos?: Pos): NixInt {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (Number.isSafeInteger(r)) return r;
  }
  return checked64(intToBigInt(a) - intToBigInt(b), 'subtracting', a, b, pos);
}
export function checkedMul(a: NixInt, b: NixInt, pos?: Pos): NixInt {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r;
  }
  return checked64(intToBigInt(a) * intToBigInt(b), 'multiplying', a, b, pos);
}
/** Division truncating towards zero; the caller has excluded b = 0. */
export function checkedDiv(a: NixInt, b: NixInt, pos?: Pos): NixInt {
  if (typeof a === 'number' && typeof b === 'number') {
    // a % b is exact, so a - a % b is an exact multiple of b.
    const r = (a - (a % b)) / b;
    return r === 0 ? 0 : r;
  }
  return checked64(intToBigInt(a) / intToBigInt(b), 'dividing', a, b, pos);
}

/** Wraps an unbounded result to signed 64 bits (bit operations). */
export function toInt64(x: bigint): NixInt {
  return mkInt(BigInt.asIntN(64, x));
}

// ---------------------------------------------------------------------------
// Builders for other modules

export function mkList(xs: Lazy[]): Lazy[] {
  return xs;
}

/** Merge two contexts, reusing one when the other is empty. */
export function mergeContext(a: Context, b: Context): Context {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  const s = new Set(a);
  for (const x of b) s.add(x);
  return s;
}

// ---------------------------------------------------------------------------
// Field representations

let fieldsPrimed = false;

/**
 * Makes, once and before the first evaluation, the changes evaluation makes
 * to the fields of the hot value classes.
 *
 * V8 records per hidden class what each field has held (small integers,
 * one class of object, anything) and whether it was written after
 * construction, and optimized code relies on the record. An evaluation
 * changes the records one by one as it first meets each case: the first
 * thunk forced to an integer, the first `//` that layers a set, the first
 * lambda over a preallocated environment, the first write of a statistics
 * counter. Every change throws away the optimized code that relied on the
 * old record, and on two cores that code then waits again in a congested
 * compile queue while running unoptimized (a package set lost 10-13
 * optimized functions per run this way; 2-6 remain, from records this
 * does not cover). The same changes made here, when nothing is optimized,
 * cost microseconds. Only objects made here are written, by plain stores
 * from this function, so no other function's type feedback sees them; the
 * counters are restored.
 */
export function primeFieldRepresentations(): void {
  if (fieldsPrimed) return;
  fieldsPrimed = true;
  const env: Env = [];
  const holey: Env = new Array(2);
  holey[0] = env;
  const set = new NixAttrs(new Map());
  const pos: Pos = { origin: { kind: 'none' }, line: 1, column: 1 };

  // Thunks of each class, forced to a small integer and then to an object
  // (`v` holds any value or the environment; `code` is cleared, and both
  // written back when a forcing fails).
  const thunks: Thunk[] = [new Thunk(SPECIAL, env), new AppThunk(set, 0), new AppThunk(new Thunk(SPECIAL, holey), set), new FnThunk(() => null)];
  for (const t of thunks) primeForcedThunk(t, set);
  for (const a of thunks.slice(1, 3) as AppThunk[]) a.arg = null;

  // Lambdas over both kinds of environment array, with literal and copied infos.
  const info = { body: SPECIAL } as unknown as LambdaInfo;
  void new Lambda(info, [env, 1]);
  void new Lambda({ ...info }, holey);

  // Sets: each representation's fields rewritten as `//`, removeAttrs and
  // the caches do, and the bookkeeping object's fields set.
  const shape = new Shape(['a'], null);
  const sets = [NixAttrs.fromShape(shape, [1]), new NixAttrs(new Map([['a', 1]]), new Map([['a', pos]])), new NixAttrs(new Map(), null, set)];
  newExtra();
  for (const s of sets) {
    const w = s as unknown as { k: unknown; d: unknown; x: Extra | null };
    w.k = shape;
    w.k = new Map();
    w.d = [];
    w.d = null;
    s.pos = pos;
    w.x = null;
    const x = newExtra();
    x.base = set;
    x.layers = 1;
    x.size = 1;
    x.flat = new Map();
    x.posL = set;
    x.posR = set;
    x.posDepth = 1;
    x.keys = [];
    x.deep = 1;
    w.x = x;
  }
  const sw = shape as unknown as { sorted: string[]; subsets: Map<string, Shape>; lastRemove: string[]; lastWithout: object };
  sw.sorted = [];
  sw.subsets = new Map();
  sw.lastRemove = [];
  sw.lastWithout = { shape, keep: [] };

  // Every statistics counter written once, then restored.
  const counters = stats as Record<string, number>;
  for (const k of Object.keys(counters)) {
    const n = counters[k]!;
    counters[k] = n + 1;
    counters[k] = n;
  }
  primeLookups();
}

/**
 * Runs `get` and `force` through each of their paths on sets and thunks of
 * its own, often enough that V8 keeps what they met (it records type
 * feedback only once a function has run a while): optimized before an
 * evaluation reaches a layered set, a flattened one or a forced AppThunk,
 * they were thrown away and compiled again when it did, three times for
 * `get` in a package set, with TurboFan already the slowest part of a
 * short evaluation.
 */
function primeLookups(): void {
  const value = thunkOf(1);
  // Values arrays as literals' sets make them (`new Array(n)`, filled) and
  // as derivationStrict's result is made (an array literal of objects).
  const holey = (n: number): Lazy[] => {
    const a: Lazy[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = value;
    return a;
  };
  // Values of every sort: thunks, numbers, strings.
  const mixed = holey(3);
  mixed[1] = 1;
  mixed[2] = 'x';
  const literal = NixAttrs.fromShape(new Shape(['a', 'b', 'd'], null), [value, 1, 'x']);
  const map = new NixAttrs(new Map<string, Lazy>([['a', value], ['b', 1], ['e', 'x']]), null);
  const layer = updateAttrs(map, NixAttrs.fromShape(new Shape(['c', 'f', 'g'], null), mixed));
  const layers = updateAttrs(layer, NixAttrs.fromShape(new Shape(['d'], null), holey(1)));
  const app = new AppThunk(literal, 0);
  app.v = 1;
  app.code = null;
  const fn = new FnThunk(() => 1);
  const thunks = [thunkOf(1), app, fn];
  // V8 keeps feedback once a function has run a few times: twenty rounds.
  const sets = [literal, NixAttrs.fromShape(new Shape(['a', 'b', 'd'], null), mixed), map, layer, layers];
  for (let i = 0; i < 20; i++) {
    for (const set of sets) {
      set.get('a');
      set.get('b');
      set.get('d');
      set.get('e');
      set.get('g');
      set.get('z');
      void set.size;
    }
    for (const t of thunks) t.force();
  }
  // Enough lookups two layers deep to flatten `layers` (see deepLookup),
  // then lookups in the flattened set.
  for (let i = 0; i < 80; i++) layers.get('a');
}

/** A thunk's fields as forcing leaves them, through each kind of value (for primeFieldRepresentations). */
function primeForcedThunk(t: Thunk, object: object): void {
  t.code = BLACKHOLE;
  t.v = 0;
  t.v = object;
  t.code = null;
  t.code = SPECIAL;
  t.v = [];
}
