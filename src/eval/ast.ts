// The abstract syntax of the Nix language, as the parser produces it and the
// compiler consumes it. Shapes follow Nix's own expression tree (nixexpr.hh)
// closely on purpose: `nix-instantiate --parse` must print the same text as
// Nix, and evaluation traces point at the same positions. So sugar is lowered
// the way Nix lowers it: `a - b` is a call to `__sub`, `a < b` a call to
// `__lessThan`, `a + b` a ConcatStrings with forceString = false, `<p>` a call
// to `__findFile __nixPath "p"`, `-x` is `__sub 0 x`.

import type { Pos } from './position.js';

export type Expr =
  | ExprInt
  | ExprFloat
  | ExprString
  | ExprPath
  | ExprVar
  | ExprInheritFrom
  | ExprSelect
  | ExprOpHasAttr
  | ExprAttrs
  | ExprList
  | ExprLambda
  | ExprCall
  | ExprLet
  | ExprWith
  | ExprIf
  | ExprAssert
  | ExprOpNot
  | ExprBinOp
  | ExprConcatStrings
  | ExprPos;

export interface ExprInt {
  kind: 'Int';
  value: bigint;
  pos?: Pos;
}

export interface ExprFloat {
  kind: 'Float';
  value: number;
  pos?: Pos;
}

/** A string literal with no interpolation (already unescaped / unindented). */
export interface ExprString {
  kind: 'String';
  value: string;
  pos?: Pos;
}

/** A path literal, already made absolute (relative to the file's directory, or `~` expanded). */
export interface ExprPath {
  kind: 'Path';
  value: string;
  pos?: Pos;
}

/**
 * A variable reference. The compiler fills in the resolution: `level` and
 * `index` for a statically bound variable, or `fromWith` for one that can only
 * come from an enclosing `with` (or is undefined, which is an error at
 * compile time when there is no `with`).
 */
export interface ExprVar {
  kind: 'Var';
  name: string;
  pos?: Pos;
}

/**
 * The hidden variable an `inherit (e) a b;` refers to: `e` is evaluated once
 * per attribute set and shared by the inherited attributes. `index` is the
 * index into the attribute set's `inheritFromExprs`.
 */
export interface ExprInheritFrom {
  kind: 'InheritFrom';
  index: number;
  pos?: Pos;
}

/** One element of an attribute path: a static name or `${expr}` / `"…${…}…"`. */
export type AttrName = { name: string; expr?: undefined } | { name?: undefined; expr: Expr };

export interface ExprSelect {
  kind: 'Select';
  e: Expr;
  attrPath: AttrName[];
  /** The `or` default. */
  def?: Expr;
  pos?: Pos;
}

export interface ExprOpHasAttr {
  kind: 'OpHasAttr';
  e: Expr;
  attrPath: AttrName[];
  pos?: Pos;
}

export type AttrDefKind =
  /** `a = e;` */
  | 'plain'
  /** `inherit a;` — `e` is an ExprVar looked up in the enclosing scope. */
  | 'inherited'
  /** `inherit (s) a;` — `e` is an ExprSelect of an ExprInheritFrom. */
  | 'inheritedFrom';

export interface AttrDef {
  kind: AttrDefKind;
  e: Expr;
  pos?: Pos;
}

export interface DynamicAttrDef {
  nameExpr: Expr;
  valueExpr: Expr;
  pos?: Pos;
}

export interface ExprAttrs {
  kind: 'Attrs';
  recursive: boolean;
  /** Static attributes; a Map keeps insertion order, printers sort as Nix does. */
  attrs: Map<string, AttrDef>;
  dynamicAttrs: DynamicAttrDef[];
  /** The `(s)` expressions of `inherit (s) …;`, referenced by ExprInheritFrom.index. */
  inheritFromExprs?: Expr[];
  pos?: Pos;
}

export interface ExprList {
  kind: 'List';
  elems: Expr[];
  pos?: Pos;
}

export interface Formal {
  name: string;
  def?: Expr;
  pos?: Pos;
}

export interface Formals {
  /** In source order; printers sort by name as Nix does. */
  formals: Formal[];
  ellipsis: boolean;
}

export interface ExprLambda {
  kind: 'Lambda';
  /** `x: …` or the `@x` of a pattern. */
  arg?: string;
  formals?: Formals;
  body: Expr;
  /** Set when the lambda is bound to a name (`f = x: …;`), for traces: "while calling 'f'". */
  name?: string;
  pos?: Pos;
}

export interface ExprCall {
  kind: 'Call';
  fun: Expr;
  args: Expr[];
  pos?: Pos;
}

export interface ExprLet {
  kind: 'Let';
  attrs: ExprAttrs;
  body: Expr;
  pos?: Pos;
}

export interface ExprWith {
  kind: 'With';
  attrs: Expr;
  body: Expr;
  pos?: Pos;
}

export interface ExprIf {
  kind: 'If';
  cond: Expr;
  then: Expr;
  else: Expr;
  pos?: Pos;
}

export interface ExprAssert {
  kind: 'Assert';
  cond: Expr;
  body: Expr;
  pos?: Pos;
}

export interface ExprOpNot {
  kind: 'OpNot';
  e: Expr;
  pos?: Pos;
}

export type BinOp = '==' | '!=' | '&&' | '||' | '->' | '//' | '++';

export interface ExprBinOp {
  kind: 'BinOp';
  op: BinOp;
  e1: Expr;
  e2: Expr;
  pos?: Pos;
}

/**
 * `"a${b}c"` (forceString = true) and `a + b` (forceString = false), and a
 * path with interpolation (`./a/${b}`, forceString = false, first part a Path).
 * Each part keeps its own position for error traces.
 */
export interface ExprConcatStrings {
  kind: 'ConcatStrings';
  forceString: boolean;
  parts: { pos?: Pos; e: Expr }[];
  pos?: Pos;
}

/** `__curPos` */
export interface ExprPos {
  kind: 'Pos';
  pos?: Pos;
}
