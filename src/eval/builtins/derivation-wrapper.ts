// The body of `derivation` (corepkgs/derivation.nix) done natively for the
// usual case. The Nix code builds, per output, `commonAttrs // { outPath …;
// drvPath …; type …; outputName …; }` over `drvAttrs // listToAttrs
// outputsList // { all …; inherit drvAttrs; }`: a dozen thunks, sets and
// lists per derivation that a package set keeps alive. Here each output's
// set is one layer over `drvAttrs` holding the same names, values and
// positions (taken from the file's text, so traces and unsafeGetAttrPos
// still point into derivation-internal.nix), and the .drv is instantiated
// by the same lazy `derivationStrict` call with the same trace frames.
//
// The lambda (its formals, position, printing) stays the one parsed from
// the file. Whenever `outputs` is not a plain list of distinct simple
// names (it fails to evaluate, holds a string with context, a name with
// spaces, or one of the wrapper's own attribute names), the Nix body runs
// instead: it forces the same thunks again, and a failed thunk rethrows its
// error, so the error and its trace are exactly the Nix code's.

import type { EvalState } from '../eval-state.js';
import type { Origin, Pos } from '../position.js';
import { NixError } from '../errors.js';
import { FnThunk, force, Lambda, NixAttrs, Shape, Thunk, thunkOf, updateAttrs, type Code, type Env, type Lazy, type Value } from '../values.js';

/** Names the wrapper sets itself; an output with one of these names takes the Nix path. */
const OWN_NAMES = new Set(['all', 'drvAttrs', 'outPath', 'drvPath', 'type', 'outputName']);

/** A simple output name: what derivationStrict's tokenizing of `outputs` gives back unchanged. */
const SIMPLE_NAME = /^[^ \t\n\r]+$/;

interface WrapperPositions {
  /** `derivationStrict drvAttrs` */
  call: Pos;
  /** `strict` in `strict.${outputName}` and in `strict.drvPath` */
  outPathSelect: Pos;
  drvPathSelect: Pos;
  /** The `{` of the set each output's value is built from. */
  valueSet: Pos;
  /** Attribute definitions: `value` (listToAttrs keeps its position), `all`, `inherit drvAttrs`, and the output set's four. */
  value: Pos;
  all: Pos;
  drvAttrs: Pos;
  outPath: Pos;
  drvPath: Pos;
  type: Pos;
  outputName: Pos;
}

/** The position of `needle` (plus `offset` characters) in the wrapper's code (after its header comment). */
function positionOf(origin: Origin, source: string, needle: string, offset = 0): Pos | undefined {
  const start = source.indexOf('drvAttrs@');
  const i = start < 0 ? -1 : source.indexOf(needle, start);
  if (i < 0) return undefined;
  const at = i + offset;
  const lineStart = source.lastIndexOf('\n', at - 1) + 1;
  let line = 1;
  for (let j = source.indexOf('\n'); j >= 0 && j < at; j = source.indexOf('\n', j + 1)) line++;
  return { origin, line, column: at - lineStart + 1 };
}

function wrapperPositions(origin: Origin, source: string): WrapperPositions | undefined {
  const p = {
    call: positionOf(origin, source, 'derivationStrict drvAttrs'),
    outPathSelect: positionOf(origin, source, 'strict.${outputName}'),
    drvPathSelect: positionOf(origin, source, 'strict.drvPath'),
    valueSet: positionOf(origin, source, 'value = commonAttrs // {', 'value = commonAttrs // '.length),
    value: positionOf(origin, source, 'value = commonAttrs'),
    all: positionOf(origin, source, 'all = map'),
    drvAttrs: positionOf(origin, source, 'inherit drvAttrs;', 'inherit '.length),
    outPath: positionOf(origin, source, 'outPath = strict'),
    drvPath: positionOf(origin, source, 'drvPath = strict'),
    type: positionOf(origin, source, 'type = "derivation"'),
    outputName: positionOf(origin, source, 'inherit outputName;', 'inherit '.length),
  };
  for (const v of Object.values(p)) if (v === undefined) return undefined;
  return p as WrapperPositions;
}

/**
 * `lambda` (derivation.nix evaluated) with its body replaced by the native
 * one, or `lambda` itself when the file is not laid out as expected.
 */
export function withNativeBody(state: EvalState, lambda: Value, origin: Origin, source: string): Value {
  if (!(lambda instanceof Lambda)) return lambda;
  const info = lambda.info;
  const formals = info.formals;
  if (info.arg !== 'drvAttrs' || formals === null || formals.length !== 1 || formals[0]!.name !== 'outputs') return lambda;
  const pos = wrapperPositions(origin, source);
  if (pos === undefined) return lambda;
  const nixBody = info.body;
  const body = new NativeBody(state, pos);
  // The environment is [parent, drvAttrs, outputs], as callLambda fills it.
  return new Lambda({ ...info, body: (env: Env): Value => body.run(env, nixBody) }, lambda.env);
}

class NativeBody {
  /** The set of names per list of output names (almost always just `out`). */
  private readonly shapes = new Map<string, Shape>();

  constructor(
    private readonly state: EvalState,
    private readonly pos: WrapperPositions,
  ) {}

  run(env: Env, nixBody: Code): Value {
    const outputs = env[2] as Lazy;
    const names = this.outputNames(outputs);
    if (names === undefined) return nixBody(env);
    const elems = force(outputs) as Lazy[];
    const drvAttrsArg = env[1] as Lazy;
    const drvAttrs = force(drvAttrsArg) as NixAttrs;
    const state = this.state;
    const pos = this.pos;
    const strict = new Thunk(strictCall, [state, drvAttrsArg, pos.call]);
    const shape = this.shapeFor(names);
    // The sets listToAttrs makes: one cell per output, filled in below (each
    // output's set holds all of them, and `all` lists them).
    const cells: Thunk[] = new Array(names.length);
    for (let i = 0; i < names.length; i++) cells[i] = thunkOf(null);
    const all = new Thunk(allOutputs, cells);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      // Exact size (the array is kept, one per derivation), filled by a
      // loop as a literal's set fills its values: concat of an array
      // literal deoptimized this function once its maps changed.
      const n = cells.length;
      const vals: Lazy[] = new Array(n + 6);
      for (let j = 0; j < n; j++) vals[j] = cells[j]!;
      vals[n] = all;
      vals[n + 1] = drvAttrsArg;
      vals[n + 2] = new Thunk(selectOfStrict, [strict, name, pos.outPathSelect]);
      vals[n + 3] = new Thunk(selectOfStrict, [strict, 'drvPath', pos.drvPathSelect]);
      vals[n + 4] = 'derivation';
      vals[n + 5] = elems[i]!;
      const own = NixAttrs.fromShape(shape, vals);
      own.pos = pos.valueSet;
      cells[i]!.v = updateAttrs(drvAttrs, own);
    }
    return cells[0]!.v as Value;
  }

  /** The output names when the fast path applies to them, else undefined. */
  private outputNames(outputs: Lazy): string[] | undefined {
    try {
      const list = force(outputs);
      if (!Array.isArray(list) || list.length === 0) return undefined;
      const names: string[] = [];
      for (const e of list) {
        const s = force(e);
        if (typeof s !== 'string' || !SIMPLE_NAME.test(s) || OWN_NAMES.has(s) || names.includes(s)) return undefined;
        names.push(s);
      }
      return names;
    } catch {
      // The Nix body meets the same failure and reports it in its own words.
      return undefined;
    }
  }

  private shapeFor(outputs: string[]): Shape {
    const key = outputs.join(' ');
    let shape = this.shapes.get(key);
    if (shape === undefined) {
      const p = this.pos;
      shape = new Shape(
        [...outputs, 'all', 'drvAttrs', 'outPath', 'drvPath', 'type', 'outputName'],
        [...outputs.map(() => p.value), p.all, p.drvAttrs, p.outPath, p.drvPath, p.type, p.outputName],
      );
      this.shapes.set(key, shape);
    }
    return shape;
  }
}

// The wrapper's own thunks are plain Thunks whose code is one of the
// functions below and whose environment holds what that code reads. Not
// subclasses: every kind of thunk is another hidden class where thunks are
// forced, and past four of them V8's optimized Thunk.force reads and writes
// their fields through the generic (megamorphic) inline-cache stubs. Thunk,
// AppThunk and FnThunk stay the only three.

/**
 * `all = map (x: x.value) outputsList`: like that `map`, unevaluated until
 * used, and so are its elements (printing shows them as Nix does). The
 * environment is the outputs' cells.
 */
function allOutputs(cells: Env): Value {
  return (cells as Thunk[]).map((c) => new FnThunk(() => c.force()));
}

/**
 * `derivationStrict drvAttrs`, called as the Nix code calls it (same trace
 * frame, same call depth). The environment is [state, drvAttrs, call position].
 */
function strictCall(env: Env): Value {
  const state = env[0] as EvalState;
  return state.callFunction(state.getBuiltin('derivationStrict'), [env[1] as Lazy], env[2] as Pos);
}

/**
 * `strict.<name>` in the wrapper (derivationStrict's result always has the
 * name). The environment is [strict, name, position of `strict`].
 */
function selectOfStrict(env: Env): Value {
  let attrs: Value;
  try {
    attrs = (env[0] as Thunk).force();
  } catch (e) {
    if (e instanceof NixError) e.addTrace(env[2] as Pos, 'while selecting an attribute');
    throw e;
  }
  return force((attrs as NixAttrs).get(env[1] as string)!);
}
