// Builtins that put things into the store: derivationStrict (and the
// `derivation` wrapper from corepkgs/derivation.nix), placeholder, toFile,
// path, filterSource, storePath. They reach the store only through the
// synchronous Store interface; a read-only store just computes the paths.

import { readFileSync } from 'node:fs';
import { realPath } from '../../byte-fs.js';
import * as nodePath from 'node:path';
import { registerBuiltins } from './registry.js';
import { EvalError, NixError, StackOverflowError, TypeError } from '../errors.js';
import {
  addContext,
  force,
  forceAttrs,
  forceBool,
  forceFunction,
  forceList,
  forceStringNoCtx,
  forceStringValue,
  lazy,
  mkString,
  NixAttrs,
  Shape,
  NixPath,
  NixString,
  SingleContext,
  showType,
  type Lazy,
  type Value,
  isInt,
  NixFloat,
  replaceForcedElements,
} from '../values.js';
import { showPos, type Origin, type Pos } from '../position.js';
import { withNativeBody } from './derivation-wrapper.js';
import { renderError } from '../error-format.js';
import { jsonFloat, jsonString, peel } from './json.js';
import type { EvalState } from '../eval-state.js';
import type { Store } from '../../store/store-api.js';
import type { FileIngestionMethod } from '../../store/store-api.js';
import { sha256Hex, parseHashAlgoOpt, parseHashAllowEmpty, type HashAlgo } from '../../store/hash.js';
import {
  DRV_EXTENSION,
  isInStore,
  isStorePath,
  makeFixedOutputPath,
  parseStorePath,
  toStorePath,
  storeNameProblem,
} from '../../store/store-path.js';
import {
  derivationOutputPath,
  derivationReferences,
  emptyDerivation,
  readDerivation,
  AtermText,
  type Derivation,
} from '../../store/derivation.js';
import { downstreamPlaceholder, fillInputAddressedOutputs, hashPlaceholder, moduloHashAfterWrite, type DrvHash, type DrvHashContext } from '../../store/derivation-hash.js';
import { firstInNixOrder, parseNixContextElem } from '../context-elements.js';
import { printAttributeName } from '../literal-strings.js';

// ---------------------------------------------------------------------------
// What we remember per store about what this process wrote: in read-only
// mode nothing is on disk, yet later derivations need the modulo hashes of
// earlier ones and `drvPath` contexts need closures.

interface StoreMemory {
  drvHashes: Map<string, DrvHash>;
  /** How hashDerivationModulo reaches this store's derivations (with drvHashes as its cache). */
  hashContext: DrvHashContext;
  /** References of the text files we created (those of .drv files are in drvHashes). */
  references: Map<string, string[]>;
}

const memories = new WeakMap<Store, StoreMemory>();

function memoryOf(store: Store): StoreMemory {
  let m = memories.get(store);
  if (!m) {
    const drvHashes = new Map<string, DrvHash>();
    const hashContext = { storeDir: store.storeDir, cache: drvHashes, readDerivation: (p: string) => readDerivation(store, p) };
    memories.set(store, (m = { drvHashes, hashContext, references: new Map() }));
  }
  return m;
}

function referencesOf(store: Store, path: string): readonly string[] {
  const mem = memoryOf(store);
  return mem.references.get(path) ?? mem.drvHashes.get(path)?.references ?? store.queryPathInfo(path)?.references ?? [];
}

function outputNamesOf(store: Store, drvPath: string): readonly string[] {
  return memoryOf(store).drvHashes.get(drvPath)?.outputs ?? [...readDerivation(store, drvPath).outputs.keys()];
}

/** The path and everything it refers to, transitively (Nix's computeFSClosure). */
function closureOf(store: Store, start: string): Set<string> {
  const seen = new Set<string>([start]);
  const todo = [start];
  while (todo.length > 0) {
    for (const r of referencesOf(store, todo.pop()!)) {
      if (!seen.has(r)) {
        seen.add(r);
        todo.push(r);
      }
    }
  }
  return seen;
}

/** Writes (or, read-only, just names) a text file in the store and remembers its references. */
function addText(store: Store, name: string, text: string, references: string[]): string {
  const path = store.addTextToStore(name, text, references);
  memoryOf(store).references.set(path, references);
  return path;
}

// ---------------------------------------------------------------------------
// Errors and names

function trace<T>(pos: Pos | undefined, hint: string, f: () => T, always = false): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NixError) e.addTrace(pos, hint, always);
    throw e;
  }
}

function hasFeature(state: EvalState, feature: string): boolean {
  return state.settings.experimentalFeatures?.has(feature) ?? false;
}

function requireFeature(state: EvalState, feature: string): void {
  if (!hasFeature(state, feature))
    throw new EvalError(`experimental Nix feature '${feature}' is disabled; add '--extra-experimental-features ${feature}' to enable it`);
}

// ---------------------------------------------------------------------------
// JSON for __structuredAttrs (Nix's printValueAsJSON, strict, copying paths)

type JSONFrame =
  | { kind: 'list'; items: Lazy[]; i: number; out: string[]; pos: Pos | undefined }
  | { kind: 'attrs'; attrs: NixAttrs; keys: string[]; i: number; out: string[] };

/**
 * Nix's printValueAsJSON (strict, paths copied to the store), written as a
 * loop over an explicit stack: structured attrs can nest ten thousand
 * levels deep, which must end in Nix's "max-call-depth exceeded" error with
 * its trace, not in a JavaScript stack overflow.
 */
export function valueToJSON(state: EvalState, root: Lazy, rootPos: Pos | undefined, context: Set<string>): string {
  const stack: JSONFrame[] = [];
  const baseDepth = state.callDepth;

  /** A scalar's JSON text, or a frame to descend into. */
  const enter = (x: Lazy, pos: Pos | undefined): string | JSONFrame => {
    let v = force(x, pos);
    if (v instanceof NixAttrs) {
      const peeled = peel(state, v, pos);
      v = peeled.value;
      if (v instanceof NixAttrs) return { kind: 'attrs', attrs: v, keys: v.keys(), i: 0, out: [] };
      // A path reached through `__toString` stays a plain path string (a quirk Nix keeps).
      if (peeled.viaToString && v instanceof NixPath) return jsonString(v.path);
    }
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (isInt(v)) return v.toString();
    if (v instanceof NixFloat) return jsonFloat(v.v);
    if (typeof v === 'string') return jsonString(v);
    if (v instanceof NixString) {
      addContext(context, v.ctx);
      return jsonString(v.s);
    }
    if (v instanceof NixPath) return jsonString(state.copyPathToStore(v.path, context));
    if (Array.isArray(v)) return { kind: 'list', items: v, i: 0, out: [], pos };
    throw new TypeError(`cannot convert ${showType(v)} to JSON`, pos);
  };

  let next: { x: Lazy; pos: Pos | undefined } | undefined = { x: root, pos: rootPos };
  let done: string | undefined;
  try {
    for (;;) {
      if (next) {
        // Nix's addCallDepth: check this level, then count it while the
        // value is forced (forcing can call functions, which check again).
        state.callDepth = baseDepth + stack.length;
        if (state.callDepth > state.settings.maxCallDepth) throw new StackOverflowError('stack overflow; max-call-depth exceeded', next.pos);
        state.callDepth++;
        const r = enter(next.x, next.pos);
        next = undefined;
        if (typeof r === 'string') done = r;
        else stack.push(r);
      }
      const top = stack[stack.length - 1];
      if (!top) return done!;
      if (done !== undefined) {
        top.out.push(top.kind === 'attrs' ? `${jsonString(top.keys[top.i]!)}:${done}` : done);
        top.i++;
        done = undefined;
      }
      if (top.kind === 'list' && top.i < top.items.length) next = { x: top.items[top.i]!, pos: top.pos };
      else if (top.kind === 'attrs' && top.i < top.keys.length) {
        const k = top.keys[top.i]!;
        next = { x: top.attrs.get(k)!, pos: top.attrs.posOf(k) };
      } else {
        stack.pop();
        done = top.kind === 'list' ? `[${top.out.join(',')}]` : `{${top.out.join(',')}}`;
      }
    }
  } catch (e) {
    if (e instanceof NixError) {
      for (let k = stack.length - 1; k >= 0; k--) {
        const f = stack[k]!;
        if (f.kind === 'attrs') e.addTrace(f.attrs.posOf(f.keys[f.i]!), `while evaluating attribute '${printAttributeName(f.keys[f.i]!)}'`);
        else e.addTrace(f.pos, `while evaluating list element at index ${f.i}`);
      }
    }
    throw e;
  } finally {
    state.callDepth = baseDepth;
  }
}

// ---------------------------------------------------------------------------
// derivationStrict

function tokenize(s: string): string[] {
  return s.split(/[ \t\n\r]+/).filter((t) => t !== '');
}

function derivationStrict(state: EvalState, args: Lazy[], pos: Pos | undefined): Value {
  const attrs = forceAttrs(args[0]!, undefined, 'while evaluating the argument passed to builtins.derivationStrict');
  const nameValue = attrs.get('name');
  if (nameValue === undefined) {
    const e = new EvalError("attribute 'name' missing");
    e.addTrace(undefined, 'in the attrset passed as argument to builtins.derivationStrict');
    throw e;
  }
  // A try here rather than trace() and a closure: this runs per derivation.
  let drvName: string;
  try {
    drvName = forceStringNoCtx(nameValue, undefined, 'while evaluating the `name` attribute passed to builtins.derivationStrict');
  } catch (e) {
    if (e instanceof NixError) e.addTrace(attrs.posOf('name'), "while evaluating the derivation attribute 'name'");
    throw e;
  }
  try {
    return instantiate(state, drvName, attrs);
  } catch (e) {
    // Built only on failure: showPos per derivation is measurable.
    if (e instanceof NixError) {
      const namePos = attrs.posOf('name');
      const where = namePos ? showPos(namePos) : '«unknown»';
      e.addTrace(undefined, `while evaluating derivation '${drvName}'\n  whose name attribute is located at ${where}`, true);
    }
    throw e;
  }
}

/** Attributes that only work without structured attrs (there they move to `outputChecks`). */
const OUTPUT_CHECK_ATTRS = new Set([
  'allowedReferences',
  'allowedRequisites',
  'disallowedReferences',
  'disallowedRequisites',
  'maxSize',
  'maxClosureSize',
]);

/** A warning about one attribute, placed at it and traced to the derivation, as Nix prints it. */
function warnAttr(state: EvalState, drvName: string, pos: Pos | undefined, message: string): void {
  const w = new NixError(message, pos);
  w.addTrace(undefined, `while evaluating derivation '${drvName}'`);
  state.log(renderError(w, { showTrace: false, level: 'warning' }), 1);
}

/** What instantiate gathers from the attributes besides the derivation itself. */
interface DrvAttrs {
  drv: Derivation;
  context: Set<string>;
  structured: boolean;
  /** `"name":value` per attribute (structured attrs only). */
  json: string[];
  contentAddressed: boolean;
  isImpure: boolean;
  outputHash: string | undefined;
  outputHashAlgo: HashAlgo | undefined;
  method: FileIngestionMethod | undefined;
  outputs: readonly string[];
}

function instantiate(state: EvalState, drvName: string, attrs: NixAttrs): Value {
  const store = state.store;
  const problem = storeNameProblem(drvName);
  if (problem) throw new EvalError(`invalid derivation name: ${problem}. Please pass a different 'name'.`);

  const saAttr = attrs.get('__structuredAttrs');
  const structured =
    saAttr !== undefined && forceBool(saAttr, undefined, 'while evaluating the `__structuredAttrs` attribute passed to builtins.derivationStrict');
  const inAttr = attrs.get('__ignoreNulls');
  const ignoreNulls =
    inAttr !== undefined && forceBool(inAttr, undefined, 'while evaluating the `__ignoreNulls` attribute passed to builtins.derivationStrict');

  const a: DrvAttrs = {
    drv: emptyDerivation(drvName),
    context: new Set<string>(),
    structured,
    json: [],
    contentAddressed: false,
    isImpure: false,
    outputHash: undefined,
    outputHashAlgo: undefined,
    method: undefined,
    outputs: DEFAULT_OUTPUTS,
  };
  const drv = a.drv;

  // A loop with its own try, not a closure per attribute: this runs for
  // every attribute of every derivation.
  const keys = attrs.keys();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === '__ignoreNulls') continue;
    const value = attrs.get(key)!;
    try {
      if (ignoreNulls && force(value) === null) continue;
      addAttribute(state, a, attrs, key, value);
    } catch (e) {
      if (e instanceof NixError) e.addTrace(attrs.posOf(key), `while evaluating attribute '${key}' of derivation '${drvName}'`);
      throw e;
    }
  }

  if (structured) drv.env.set('__json', `{${a.json.join(',')}}`);

  // Everything the strings refer to becomes an input.
  for (const elem of a.context) {
    const c = parseNixContextElem(elem);
    if (c.kind === 'drvDeep') {
      for (const p of closureOf(store, c.drvPath)) {
        drv.inputSrcs.add(p);
        if (p.endsWith(DRV_EXTENSION)) drv.inputDrvs.set(p, new Set(outputNamesOf(store, p)));
      }
    } else if (c.kind === 'built') {
      let set = drv.inputDrvs.get(c.drvPath);
      if (!set) drv.inputDrvs.set(c.drvPath, (set = new Set()));
      set.add(c.output);
    } else {
      drv.inputSrcs.add(parseStorePath(c.path, store.storeDir).path);
    }
  }

  if (drv.builder === '') throw new EvalError("required attribute 'builder' missing");
  if (drv.platform === '') throw new EvalError("required attribute 'system' missing");
  if (drvName.endsWith(DRV_EXTENSION))
    throw new EvalError("derivation names are allowed to end in '.drv' only if they produce a single derivation file");

  // The three texts hashed below share most of their parts.
  const text = new AtermText(drv, store.storeDir);
  const mem = memoryOf(store);
  const outputs = a.outputs;
  if (a.outputHash !== undefined) {
    if (outputs.length !== 1 || outputs[0] !== 'out') throw new EvalError('multiple outputs are not supported in fixed-output derivations');
    const { hash, warning } = parseHashAllowEmpty(a.outputHash, a.outputHashAlgo);
    if (warning) state.warn(warning);
    const m = a.method ?? 'flat';
    drv.outputs.set('out', { kind: 'fixed', method: m, hash });
    drv.env.set('out', makeFixedOutputPath(m, hash, drvName, store.storeDir));
  } else if (a.contentAddressed || a.isImpure) {
    if (a.contentAddressed && a.isImpure) throw new EvalError('derivation cannot be both content-addressed and impure');
    const algo = a.outputHashAlgo ?? 'sha256';
    const m = a.method ?? 'recursive';
    for (const o of outputs) {
      drv.env.set(o, hashPlaceholder(o));
      drv.outputs.set(o, a.isImpure ? { kind: 'impure', method: m, algo } : { kind: 'floating', method: m, algo });
    }
  } else {
    fillInputAddressedOutputs(drv, outputs, mem.hashContext, text);
  }

  // Write the .drv (a read-only store only computes its path) and remember
  // what later derivations need to know about it.
  const references = derivationReferences(drv);
  const aterm = text.text(false, drv.inputDrvs);
  const atermHash = sha256Hex(aterm);
  // derivationChecked: the store need not check its output paths again.
  const drvPath = store.addTextToStore(drvName + DRV_EXTENSION, aterm, references, atermHash, true);
  const drvHash = moduloHashAfterWrite(drv, atermHash, mem.hashContext, text);
  drvHash.references = references;
  mem.drvHashes.set(drvPath, drvHash);

  // The result is kept as long as the derivation is: an exact-size array
  // (not one grown by push) and one-element contexts.
  const names = drvHash.outputs;
  const outputString = (out: string): NixString => {
    // Outputs known only after building (floating, impure, deferred) get a placeholder.
    const path = derivationOutputPath(drv, out, store.storeDir) ?? downstreamPlaceholder(drvPath, out);
    return new NixString(path, new SingleContext(`!${out}!${drvPath}`));
  };
  const drvString = new NixString(drvPath, new SingleContext(`=${drvPath}`));
  let vals: Lazy[];
  if (names.length === 1) vals = [drvString, outputString(names[0]!)];
  else vals = [drvString].concat(names.map(outputString));
  return NixAttrs.fromShape(resultShape(names), vals);
}

const DEFAULT_OUTPUTS: readonly string[] = ['out'];

/** One attribute of a derivation: into the environment (or the JSON), with the attributes that configure it. */
function addAttribute(state: EvalState, a: DrvAttrs, attrs: NixAttrs, key: string, value: Lazy): void {
  const drv = a.drv;
  if (key === '__contentAddressed') {
    if (forceBool(value, undefined, '')) {
      a.contentAddressed = true;
      requireFeature(state, 'ca-derivations');
    }
  } else if (key === '__impure') {
    if (forceBool(value, undefined, '')) {
      a.isImpure = true;
      requireFeature(state, 'impure-derivations');
    }
  } else if (key === 'args') {
    const list = forceList(value, undefined, '');
    for (let i = 0; i < list.length; i++) {
      drv.args.push(state.coerceToString(list[i]!, undefined, 'while evaluating an element of the argument list', a.context, true, true));
    }
    replaceForcedElements(list);
  } else if (a.structured) {
    if (key === '__structuredAttrs') return;
    a.json.push(`${jsonString(key)}:${valueToJSON(state, value, undefined, a.context)}`);
    if (key === 'builder') {
      const s = forceStringValue(value, undefined, '');
      if (s instanceof NixString) addContext(a.context, s.ctx);
      drv.builder = typeof s === 'string' ? s : s.s;
    } else if (key === 'system') drv.platform = forceStringNoCtx(value, undefined, '');
    else if (key === 'outputHash') a.outputHash = forceStringNoCtx(value, undefined, '');
    else if (key === 'outputHashAlgo') a.outputHashAlgo = parseHashAlgoOpt(forceStringNoCtx(value, undefined, ''));
    else if (key === 'outputHashMode') a.method = hashMode(state, forceStringNoCtx(value, undefined, ''));
    else if (key === 'outputs') a.outputs = checkOutputs(forceList(value, undefined, '').map((e) => forceStringNoCtx(e, undefined, '')));
    if (OUTPUT_CHECK_ATTRS.has(key))
      warnAttr(
        state,
        drv.name,
        attrs.posOf(key),
        `'structuredAttrs' disables the effect of the derivation attribute '${key}'; use 'outputChecks.<output>.${key}' instead`,
      );
  } else {
    if (key === '__json')
      warnAttr(
        state,
        drv.name,
        attrs.posOf(key),
        "setting structured attributes via '__json' is deprecated, and may be disallowed in future versions of Nix. Set '__structuredAttrs = true' instead.",
      );
    const s = state.coerceToString(value, undefined, '', a.context, true, true);
    drv.env.set(key, s);
    // A list's elements are forced now (buildInputs and the like).
    const v = force(value);
    if (Array.isArray(v)) replaceForcedElements(v);
    if (key === 'builder') drv.builder = s;
    else if (key === 'system') drv.platform = s;
    else if (key === 'outputHash') a.outputHash = s;
    else if (key === 'outputHashAlgo') a.outputHashAlgo = parseHashAlgoOpt(s);
    else if (key === 'outputHashMode') a.method = hashMode(state, s);
    else if (key === 'outputs') a.outputs = checkOutputs(tokenize(s));
  }
}

function hashMode(state: EvalState, s: string): FileIngestionMethod {
  if (s === 'recursive' || s === 'nar') return 'recursive';
  if (s === 'flat') return 'flat';
  if (s === 'text') {
    requireFeature(state, 'dynamic-derivations');
    throw new EvalError('text-hashed derivations (outputHashMode = "text") are not supported by tsnix');
  }
  if (s === 'git') {
    requireFeature(state, 'git-hashing');
    throw new EvalError('git-hashed derivations (outputHashMode = "git") are not supported by tsnix');
  }
  throw new EvalError(`invalid value '${s}' for 'outputHashMode' attribute`);
}

/** The output names, checked as Nix checks them. */
function checkOutputs(names: string[]): string[] {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new EvalError(`duplicate derivation output '${n}'`);
    if (n === 'drvPath') throw new EvalError("invalid derivation output name 'drvPath'");
    seen.add(n);
  }
  if (seen.size === 0) throw new EvalError('derivation cannot have an empty set of outputs');
  return [...seen];
}

/** The names of derivationStrict's result (`drvPath` and the outputs), shared by all results with the same outputs. */
const resultShapes = new Map<string, Shape>();
const outResultShape = new Shape(['drvPath', 'out'], null);
function resultShape(outputs: readonly string[]): Shape {
  if (outputs.length === 1 && outputs[0] === 'out') return outResultShape;
  const key = outputs.join('\0');
  let shape = resultShapes.get(key);
  if (shape === undefined) resultShapes.set(key, (shape = new Shape(['drvPath', ...outputs], null)));
  return shape;
}

// ---------------------------------------------------------------------------
// toFile, path, filterSource, storePath

function toFile(state: EvalState, args: Lazy[]): Value {
  const name = forceStringNoCtx(args[0]!, undefined, 'while evaluating the first argument passed to builtins.toFile');
  const contents = forceStringValue(args[1]!, undefined, 'while evaluating the second argument passed to builtins.toFile');
  const refs: string[] = [];
  if (contents instanceof NixString) {
    const derivations: string[] = [];
    for (const elem of contents.ctx) {
      const c = parseNixContextElem(elem);
      if (c.kind === 'opaque') refs.push(c.path);
      else derivations.push(elem);
    }
    // Nix names the first derivation its sorted context holds.
    const first = firstInNixOrder(derivations);
    if (first !== undefined)
      throw new EvalError(`files created by builtins.toFile may not reference derivations, but ${name} references ${first}`);
  }
  const text = typeof contents === 'string' ? contents : contents.s;
  const path = addText(state.store, name, text, refs.sort());
  return mkString(path, new Set([path]));
}

type FileType = 'regular' | 'directory' | 'symlink' | 'unknown';

function addPath(
  state: EvalState,
  name: string,
  path: string,
  filterFun: Value | undefined,
  method: FileIngestionMethod,
  expectedHash: string | undefined,
  context: Set<string>,
): Value {
  return trace(undefined, `while adding path '${path}'`, () => {
    const store = state.store;
    // The store paths it names must be valid; it is read where the store
    // keeps them (a chroot store's real directory).
    if (context.size > 0) state.realiseContext(context);
    const source = state.onDisk(path);
    let refs: string[] = [];
    if (isInStore(path, store.storeDir) && context.size > 0) {
      refs = store.queryPathInfo(toStorePath(path, store.storeDir).storePath)?.references ?? [];
    }
    // The filter sees the paths as the user knows them, as in current Nix.
    const filter = filterFun
      ? (p: string, type: FileType): boolean =>
          forceBool(state.callFunction(filterFun, [state.shownPath(p), type], undefined), undefined, 'while evaluating the return value of the path filter function')
      : undefined;
    let expectedPath: string | undefined;
    if (expectedHash !== undefined) {
      const { hash, warning } = parseHashAllowEmpty(expectedHash, 'sha256');
      if (warning) state.warn(warning);
      expectedPath = makeFixedOutputPath(method, hash, name, store.storeDir, refs);
      if (store.isValidPath(expectedPath)) return mkString(expectedPath, new Set([expectedPath]));
    }
    const dst = store.addPathToStore(name, source, { method, hashAlgo: 'sha256', filter, references: refs });
    if (expectedPath !== undefined && dst !== expectedPath)
      throw new EvalError(`store path mismatch in (possibly filtered) path added from '${path}'`);
    // Filtered, the store path holds only some of the source's files: a
    // read-only store cannot stand in for it with the source.
    if (!filter) state.noteUncopiedSource(dst, path);
    return mkString(dst, new Set([dst]));
  });
}

function baseName(path: string): string {
  return nodePath.posix.basename(path);
}

function builtinPath(state: EvalState, args: Lazy[]): Value {
  const attrs = forceAttrs(args[0]!, undefined, "while evaluating the argument passed to 'builtins.path'");
  let path: string | undefined;
  let name = '';
  let filterFun: Value | undefined;
  let method: FileIngestionMethod = 'recursive';
  let expectedHash: string | undefined;
  const context = new Set<string>();
  for (const key of attrs.keys()) {
    const v = attrs.get(key)!;
    const pos = attrs.posOf(key);
    if (key === 'path') path = state.coerceToPath(v, pos, "while evaluating the 'path' attribute passed to 'builtins.path'", context);
    else if (key === 'name') name = forceStringNoCtx(v, pos, 'while evaluating the `name` attribute passed to builtins.path');
    else if (key === 'filter') filterFun = forceFunction(v, pos, 'while evaluating the `filter` parameter passed to builtins.path');
    else if (key === 'recursive')
      method = forceBool(v, pos, 'while evaluating the `recursive` attribute passed to builtins.path') ? 'recursive' : 'flat';
    else if (key === 'sha256') expectedHash = forceStringNoCtx(v, pos, 'while evaluating the `sha256` attribute passed to builtins.path');
    else throw new EvalError(`unsupported argument '${printAttributeName(key)}' to 'builtins.path'`, pos);
  }
  if (path === undefined) throw new EvalError("missing required 'path' attribute in the first argument to 'builtins.path'");
  if (name === '') name = baseName(path);
  return addPath(state, name, path, filterFun, method, expectedHash, context);
}

function filterSource(state: EvalState, args: Lazy[]): Value {
  const context = new Set<string>();
  const path = state.coerceToPath(args[1]!, undefined, "while evaluating the second argument (the path to filter) passed to 'builtins.filterSource'", context);
  const fn = forceFunction(args[0]!, undefined, 'while evaluating the first argument passed to builtins.filterSource');
  return addPath(state, baseName(path), path, fn, 'recursive', undefined, context);
}

function storePath(state: EvalState, args: Lazy[]): Value {
  if (state.settings.pureEval) throw new EvalError("'builtins.storePath' is not allowed in pure evaluation mode");
  const store = state.store;
  const context = new Set<string>();
  let path = state.coerceToPath(args[0]!, undefined, "while evaluating the first argument passed to 'builtins.storePath'", context);
  // Follow symlinks, unless the path is itself directly in the store.
  if (!isStorePath(path, store.storeDir)) {
    try {
      path = realPath(path);
    } catch {
      // A path that does not exist here may still be a valid logical store path.
    }
  }
  if (!isInStore(path, store.storeDir)) throw new EvalError(`path '${path}' is not in the Nix store`);
  const sp = toStorePath(path, store.storeDir).storePath;
  if (!store.readOnly && !store.isValidPath(sp)) throw new EvalError(`path '${sp}' is not valid`);
  context.add(sp);
  return mkString(path, context);
}

// ---------------------------------------------------------------------------
// `derivation`, from corepkgs/derivation.nix

/** The name Nix gives its built-in derivation wrapper in positions. */
export const DERIVATION_INTERNAL_PATH = '«nix-internal»/derivation-internal.nix';

function loadDerivationWrapper(state: EvalState): Value {
  const dir = state.corepkgsDir();
  if (!dir) throw new EvalError('cannot find corepkgs/derivation.nix');
  const source = readFileSync(nodePath.join(dir, 'derivation.nix'), 'utf8');
  state.derivationInternalFile = DERIVATION_INTERNAL_PATH;
  const origin: Origin = { kind: 'file', path: DERIVATION_INTERNAL_PATH, source };
  const lambda = state.evalExpr(state.parseString(source, origin, dir));
  return state.settings.nativeDerivation === false ? lambda : withNativeBody(state, lambda, origin, source);
}

registerBuiltins([
  { name: 'derivationStrict', arity: 1, fn: (args, pos, state: EvalState) => derivationStrict(state, args, pos) },
  { name: 'derivation', value: (state: EvalState) => lazy(() => loadDerivationWrapper(state)) },
  {
    name: 'placeholder',
    arity: 1,
    fn: (args) => hashPlaceholder(forceStringNoCtx(args[0]!, undefined, 'while evaluating the first argument passed to builtins.placeholder')),
  },
  { name: '__toFile', arity: 2, fn: (args, _pos, state: EvalState) => toFile(state, args) },
  { name: '__path', arity: 1, fn: (args, _pos, state: EvalState) => builtinPath(state, args) },
  { name: '__filterSource', arity: 2, fn: (args, _pos, state: EvalState) => filterSource(state, args) },
  { name: '__storePath', arity: 1, fn: (args, _pos, state: EvalState) => storePath(state, args) },
]);
