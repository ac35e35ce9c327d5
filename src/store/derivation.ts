// Store derivations (.drv files) in Nix's ATerm syntax:
//   Derive([outputs],[inputDrvs],[inputSrcs],"system","builder",[args],[env])
// Maps and sets are written in byte order of their keys, as Nix's std::map
// and std::set do, so the same derivation always has the same bytes.

import { NixError } from '../eval/errors.js';
import { readFileSync } from 'node:fs';
import { decodeBytes } from '../byte-strings.js';
import type { FileIngestionMethod, Store } from './store-api.js';
import { parseHashAlgo, parseHashNonSRIUnprefixed, printHash, type Hash, type HashAlgo } from './hash.js';
import { sortBytewiseInPlace, sortStringsInPlace } from '../sort-strings.js';
import {
  DEFAULT_STORE_DIR,
  DRV_EXTENSION,
  computeStorePathForText,
  fileIngestionPrefix,
  makeFixedOutputPath,
  outputPathName,
  parseStorePath,
} from './store-path.js';

export type DerivationOutput =
  /** The usual kind: the path is fixed by the derivation's inputs. */
  | { kind: 'inputAddressed'; path: string }
  /** A fixed-output derivation's output: its content hash is known up front. */
  | { kind: 'fixed'; method: FileIngestionMethod; hash: Hash }
  /** Content-addressed with the hash known only after building (experimental). */
  | { kind: 'floating'; method: FileIngestionMethod; algo: HashAlgo }
  /** Input-addressed, but the path waits on a floating input (experimental). */
  | { kind: 'deferred' }
  | { kind: 'impure'; method: FileIngestionMethod; algo: HashAlgo };

export interface Derivation {
  /** The derivation name (the .drv file name without `.drv`); not part of the ATerm. */
  name: string;
  outputs: Map<string, DerivationOutput>;
  /** Input derivation paths with the outputs used from each. */
  inputDrvs: Map<string, Set<string>>;
  inputSrcs: Set<string>;
  platform: string;
  builder: string;
  args: string[];
  env: Map<string, string>;
}

/** A malformed .drv file (Nix's FormatError). */
export class DerivationFormatError extends NixError {}

export function emptyDerivation(name: string): Derivation {
  return { name, outputs: new Map(), inputDrvs: new Map(), inputSrcs: new Set(), platform: '', builder: '', args: [], env: new Map() };
}

/** The strings of an array, the elements of a Set or the keys of a Map, in byte order. */
export function sortedBytewise(items: readonly string[] | ReadonlySet<string> | ReadonlyMap<string, unknown>): string[] {
  // One collector object rather than closures per call, and forEach rather
  // than an iterator: this runs several times per derivation, mostly before
  // V8 has optimized it, and iterator results and closures were a
  // noticeable share of evaluation garbage.
  const c = new KeyCollector();
  if (items instanceof Map) items.forEach(c.addKey, c);
  else (items as readonly string[] | ReadonlySet<string>).forEach(c.add, c);
  const xs = c.xs;
  return xs.length < 2 ? xs : sortBytewiseInPlace(xs);
}

/**
 * Store paths (all under one store directory, their own characters ASCII)
 * or hex hashes, sorted: UTF-16 order is byte order for them, so unlike
 * sortedBytewise this checks no string for surrogates.
 */
function sortedPaths(items: ReadonlySet<string> | ReadonlyMap<string, unknown>): string[] {
  const xs = items instanceof Map ? [...items.keys()] : [...(items as ReadonlySet<string>)];
  return xs.length < 2 ? xs : sortStringsInPlace(xs);
}

class KeyCollector {
  declare xs: string[];
  constructor() {
    this.xs = [];
  }
  add(x: string): void {
    this.xs.push(x);
  }
  addKey(_v: unknown, k: string): void {
    this.add(k);
  }
}

// ---------------------------------------------------------------------------
// Writing

/** Characters ATerm strings escape. */
const NEEDS_ESCAPE = /["\\\n\r\t]/;

function quote(s: string): string {
  return '"' + escape(s) + '"';
}

/** A string's characters as ATerm prints them between quotes. */
function escape(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\\') out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else out += c;
  }
  return out;
}

/** The path of a fixed output (the output name is always `out`). */
export function fixedOutputPath(drvName: string, outputName: string, out: { method: FileIngestionMethod; hash: Hash }, storeDir = DEFAULT_STORE_DIR): string {
  return makeFixedOutputPath(out.method, out.hash, outputPathName(drvName, outputName), storeDir);
}

/** The output's store path, when it is known before building. */
export function derivationOutputPath(drv: Derivation, outputName: string, storeDir = DEFAULT_STORE_DIR): string | undefined {
  const o = drv.outputs.get(outputName);
  if (!o) return undefined;
  if (o.kind === 'inputAddressed') return o.path;
  if (o.kind === 'fixed') return fixedOutputPath(drv.name, outputName, o, storeDir);
  return undefined;
}

/** The ATerm text of a derivation, byte-identical to Nix's (hashing prints its variants through AtermText). */
export function unparseDerivation(drv: Derivation, storeDir = DEFAULT_STORE_DIR): string {
  return new AtermText(drv, storeDir).text(false, drv.inputDrvs);
}

/**
 * A derivation's ATerm, for the three texts instantiating it hashes: masked
 * (output paths blank) with its inputs' modulo hashes for its output paths,
 * plain for its .drv path, and unmasked with the modulo hashes for its own
 * modulo hash. Each text is concatenated with `+`: hashing copies the
 * tree of pieces flat once, which costs less than Array.prototype.join of
 * the same ≈40 pieces (0.25 µs less per text, measured). The sources, system,
 * builder and arguments are printed once (they must not change after
 * construction); the outputs and the environment are read from the
 * derivation on every call, re-escaping only values that changed, so
 * output paths filled in between calls show. An inputs Map passed again
 * is taken to be unchanged (the modulo hashes are printed for two of the
 * texts).
 */
export class AtermText {
  private readonly storeDir: string;
  /** `,[sources],"system","builder",[args],` */
  private readonly middle: string;
  // Shared empty arrays until first use: an AtermText is made per derivation.
  private outputNames: readonly string[] = NONE;
  private envKeys: readonly string[] = NONE;
  /** `("key",` per key. */
  private envStarts: readonly string[] = NONE;
  /** The value each key's text was made for; null before the first. */
  private envValues: (string | null)[] = NONE as string[];
  /** Each value escaped for printing between quotes. */
  private envEscaped: string[] = NONE as string[];
  /**
   * The environment's text as last printed, and whether masked: the .drv's
   * text and the modulo hash's, printed one after the other with no value
   * changed in between, share the unmasked one.
   */
  private envText: string | null = null;
  private envTextMasked = false;
  private inputsOf: Map<string, Set<string>> | null = null;
  private inputsOrder: InputsOrder = NO_INPUTS;
  private inputsOf2: Map<string, Set<string>> | null = null;
  private inputsOrder2: InputsOrder = NO_INPUTS;
  /** For hashDerivationModulo: the input derivations keyed by their modulo hashes, once computed. */
  moduloInputs: { inputs: Map<string, Set<string>>; deferred: boolean } | undefined = undefined;

  constructor(
    private readonly drv: Derivation,
    storeDir = DEFAULT_STORE_DIR,
  ) {
    this.storeDir = storeDir;
    let args = '';
    for (let i = 0; i < drv.args.length; i++) args += (i === 0 ? '' : ',') + quote(drv.args[i]!);
    this.middle = ',' + rawList(sortedPaths(drv.inputSrcs)) + ',"' + drv.platform + '",' + quote(drv.builder) + ',[' + args + '],';
  }

  /** The whole text; `inputs` stands for the input derivations (hashDerivationModulo passes hex hashes). */
  text(mask: boolean, inputs: Map<string, Set<string>>): string {
    return 'Derive([' + this.outputs(mask) + '],' + this.inputs(inputs) + this.middle + '[' + this.env(mask) + '])';
  }

  private outputs(mask: boolean): string {
    const drv = this.drv;
    // The names, sorted once: each text prints them, and the paths filled
    // in between change the values only.
    let names = this.outputNames;
    let same = names.length === drv.outputs.size;
    for (let i = 0; same && i < names.length; i++) same = drv.outputs.has(names[i]!);
    if (!same) names = this.outputNames = sortedBytewise(drv.outputs);
    let s = '';
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const o = drv.outputs.get(name)!;
      let path = '';
      let algo = '';
      let hash = '';
      switch (o.kind) {
        case 'inputAddressed':
          path = mask ? '' : o.path;
          break;
        case 'fixed':
          path = mask ? '' : fixedOutputPath(drv.name, name, o, this.storeDir);
          algo = fileIngestionPrefix(o.method) + o.hash.algo;
          hash = printHash(o.hash, 'base16');
          break;
        case 'floating':
          algo = fileIngestionPrefix(o.method) + o.algo;
          break;
        case 'deferred':
          break;
        case 'impure':
          algo = fileIngestionPrefix(o.method) + o.algo;
          hash = 'impure';
          break;
      }
      s += (i === 0 ? '("' : ',("') + name + '","' + path + '","' + algo + '","' + hash + '")';
    }
    return s;
  }

  private inputs(inputs: Map<string, Set<string>>): string {
    // Two Maps are printed, the modulo hashes twice (masked and not) around
    // the input derivations' paths once: both orders are kept.
    let order: InputsOrder;
    if (inputs === this.inputsOf) order = this.inputsOrder;
    else if (inputs === this.inputsOf2) order = this.inputsOrder2;
    else {
      const paths = sortedPaths(inputs);
      const outputs: string[] = new Array<string>(paths.length);
      for (let i = 0; i < paths.length; i++) outputs[i] = outputsList(inputs.get(paths[i]!)!);
      order = { paths, outputs };
      this.inputsOf2 = this.inputsOf;
      this.inputsOrder2 = this.inputsOrder;
      this.inputsOf = inputs;
      this.inputsOrder = order;
    }
    const { paths, outputs } = order;
    let s = '[';
    for (let i = 0; i < paths.length; i++) s += (i === 0 ? '("' : ',("') + paths[i]! + '",' + outputs[i]! + ')';
    return s + ']';
  }

  private env(mask: boolean): string {
    const env = this.drv.env;
    const outputs = this.drv.outputs;
    // Loops rather than callbacks (every, map): this runs three times per
    // derivation, much of it before V8 has optimized it.
    let keys = this.envKeys;
    let same = keys.length === env.size;
    for (let i = 0; same && i < keys.length; i++) same = env.has(keys[i]!);
    if (!same) {
      this.envText = null;
      keys = this.envKeys = sortedBytewise(env);
      // Exact size: each is kept until the derivation's texts are done.
      const starts = new Array<string>(keys.length);
      for (let i = 0; i < keys.length; i++) starts[i] = pairStart(keys[i]!);
      this.envStarts = starts;
      // Filled by loops: Array.prototype.fill is a call into V8's C++.
      const values = new Array<string | null>(keys.length);
      const escaped = new Array<string>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        values[i] = null;
        escaped[i] = '';
      }
      this.envValues = values;
      this.envEscaped = escaped;
    }
    const starts = this.envStarts;
    const values = this.envValues;
    const escaped = this.envEscaped;
    // Only an unmasked text is reused: a masked one depends on the outputs too.
    let changed = mask || this.envText === null || this.envTextMasked;
    for (let i = 0; i < keys.length; i++) {
      const value = env.get(keys[i]!)!;
      if (value !== values[i]) {
        values[i] = value;
        escaped[i] = escape(value);
        changed = true;
      }
    }
    if (!changed) return this.envText!;
    let s = '';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = values[i]!;
      // Masked, an output's variable is blank (as its path is).
      const shown = mask && value !== '' && outputs.has(key) ? '' : escaped[i]!;
      s += (i > 0 ? ',' : '') + starts[i]! + '"' + shown + '")';
    }
    this.envTextMasked = mask;
    return (this.envText = s);
  }
}

const NONE: readonly string[] = Object.freeze([]);

/** Input derivations in print order, each with its outputs printed as a list. */
interface InputsOrder {
  paths: readonly string[];
  outputs: readonly string[];
}
const NO_INPUTS: InputsOrder = { paths: NONE, outputs: NONE };

/** `["out"]`, the usual outputs of an input derivation, printed once. */
const OUT_LIST = '["out"]';

/** An input derivation's outputs as an ATerm list. */
function outputsList(outputs: ReadonlySet<string>): string {
  return outputs.size === 1 && outputs.has('out') ? OUT_LIST : rawList(sortedBytewise(outputs));
}

/**
 * `("key",` for an environment key. Derivations mostly share their keys
 * (name, system, builder, out, ...), so these are kept rather than built
 * per derivation; a bounded number, so unusual keys cannot grow the cache
 * without limit.
 */
const pairStarts = new Map<string, string>();
const MAX_PAIR_STARTS = 4096;

function pairStart(key: string): string {
  let s = pairStarts.get(key);
  if (s === undefined) {
    s = '(' + quote(key) + ',';
    if (pairStarts.size < MAX_PAIR_STARTS) pairStarts.set(key, s);
  }
  return s;
}

/** `["a","b"]` for strings Nix writes unescaped (store paths, output names). */
function rawList(items: string[]): string {
  return items.length === 0 ? '[]' : '["' + items.join('","') + '"]';
}

/** What a .drv's store path refers to: its sources and input derivations (not its outputs). */
export function derivationReferences(drv: Derivation): string[] {
  if (drv.inputDrvs.size === 0) return sortedPaths(drv.inputSrcs);
  if (drv.inputSrcs.size === 0) return sortedPaths(drv.inputDrvs);
  return sortedPaths(new Set([...drv.inputSrcs, ...drv.inputDrvs.keys()]));
}

/** The path the .drv file gets: a text path named `<name>.drv`. */
export function derivationStorePath(drv: Derivation, storeDir = DEFAULT_STORE_DIR): string {
  return computeStorePathForText(drv.name + DRV_EXTENSION, unparseDerivation(drv, storeDir), derivationReferences(drv), storeDir);
}

/** Adds the .drv file to the store (a read-only store only computes its path). Returns the .drv path. */
export function writeDerivation(store: Store, drv: Derivation): string {
  return store.addTextToStore(drv.name + DRV_EXTENSION, unparseDerivation(drv, store.storeDir), derivationReferences(drv));
}

/** Reads and parses a .drv file of the store (through its real location in a chroot store). */
export function readDerivation(store: Pick<Store, 'toRealPath' | 'storeDir'>, drvPath: string): Derivation {
  let text: string;
  try {
    // As bytes: an attribute may hold bytes that are not UTF-8 (byte-strings.ts).
    text = decodeBytes(readFileSync(store.toRealPath(drvPath)));
  } catch (e) {
    throw new NixError(`path '${drvPath}' is not valid`);
  }
  return parseDerivationFile(text, drvPath, store.storeDir);
}

// ---------------------------------------------------------------------------
// Parsing

class Reader {
  pos = 0;
  constructor(readonly s: string) {}

  expect(t: string): void {
    if (!this.s.startsWith(t, this.pos)) throw new DerivationFormatError(`expected string '${t}'`);
    this.pos += t.length;
  }

  string(): string {
    this.expect('"');
    const s = this.s;
    let out = '';
    for (;;) {
      // Copy the run up to the next quote or backslash in one slice.
      const quote = s.indexOf('"', this.pos);
      if (quote < 0) throw new DerivationFormatError('unexpected end of derivation while reading a string');
      const backslash = s.indexOf('\\', this.pos);
      if (backslash < 0 || backslash > quote) {
        out += s.slice(this.pos, quote);
        this.pos = quote + 1;
        return out;
      }
      out += s.slice(this.pos, backslash);
      if (backslash + 1 >= s.length) throw new DerivationFormatError('unexpected end of derivation while reading a string');
      const e = s[backslash + 1]!;
      out += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e;
      this.pos = backslash + 2;
    }
  }

  path(): string {
    const s = this.string();
    validatePath(s);
    return s;
  }

  /** Consumes `,` (more items follow) or `]` (end); like Nix, anything else means "another item". */
  endOfList(): boolean {
    const c = this.s[this.pos];
    if (c === ',') {
      this.pos++;
      return false;
    }
    if (c === ']') {
      this.pos++;
      return true;
    }
    return false;
  }

  strings(arePaths: boolean): Set<string> {
    const out = new Set<string>();
    while (!this.endOfList()) out.add(arePaths ? this.path() : this.string());
    return out;
  }
}

function validatePath(s: string): void {
  if (s.length === 0 || s[0] !== '/') throw new DerivationFormatError(`bad path '${s}' in derivation`);
}

function parseOutput(path: string, algoField: string, hash: string, storeDir: string): DerivationOutput {
  if (algoField !== '') {
    let method: FileIngestionMethod = 'flat';
    let algoName = algoField;
    if (algoName.startsWith('r:')) {
      method = 'recursive';
      algoName = algoName.slice(2);
    }
    const algo = parseHashAlgo(algoName);
    if (hash === 'impure') return { kind: 'impure', method, algo };
    if (hash !== '') {
      validatePath(path);
      return { kind: 'fixed', method, hash: parseHashNonSRIUnprefixed(hash, algo) };
    }
    return { kind: 'floating', method, algo };
  }
  if (path === '') return { kind: 'deferred' };
  validatePath(path);
  return { kind: 'inputAddressed', path: parseStorePath(path, storeDir).path };
}

/** Parses ATerm text; `name` is the derivation name (from the .drv file name). */
export function parseDerivation(text: string, name: string, storeDir = DEFAULT_STORE_DIR): Derivation {
  const r = new Reader(text);
  const drv = emptyDerivation(name);
  r.expect('Derive([');
  while (!r.endOfList()) {
    r.expect('(');
    const id = r.string();
    r.expect(',');
    const path = r.string();
    r.expect(',');
    const algo = r.string();
    r.expect(',');
    const hash = r.string();
    r.expect(')');
    drv.outputs.set(id, parseOutput(path, algo, hash, storeDir));
  }
  r.expect(',[');
  while (!r.endOfList()) {
    r.expect('(');
    const drvPath = parseStorePath(r.path(), storeDir).path;
    r.expect(',[');
    drv.inputDrvs.set(drvPath, r.strings(false));
    r.expect(')');
  }
  r.expect(',[');
  for (const p of r.strings(true)) drv.inputSrcs.add(parseStorePath(p, storeDir).path);
  r.expect(',');
  drv.platform = r.string();
  r.expect(',');
  drv.builder = r.string();
  r.expect(',[');
  while (!r.endOfList()) drv.args.push(r.string());
  r.expect(',[');
  while (!r.endOfList()) {
    r.expect('(');
    const k = r.string();
    r.expect(',');
    const v = r.string();
    r.expect(')');
    drv.env.set(k, v);
  }
  r.expect(')');
  if (r.pos !== text.length) throw new DerivationFormatError('trailing data after the derivation');
  return drv;
}

/** Parses a .drv file's text, naming the file in the error as Nix does. */
export function parseDerivationFile(text: string, drvPath: string, storeDir = DEFAULT_STORE_DIR): Derivation {
  const base = drvPath.slice(drvPath.lastIndexOf('/') + 1);
  const name = base.slice(33, base.endsWith(DRV_EXTENSION) ? -DRV_EXTENSION.length : undefined);
  try {
    return parseDerivation(text, name, storeDir);
  } catch (e) {
    if (e instanceof NixError) throw new DerivationFormatError(`error parsing derivation '${drvPath}': ${e.message}`);
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Kinds

export type DerivationType =
  | { kind: 'inputAddressed'; deferred: boolean }
  | { kind: 'contentAddressed'; fixed: boolean; sandboxed: boolean }
  | { kind: 'impure' };

const INPUT_ADDRESSED: DerivationType = Object.freeze({ kind: 'inputAddressed', deferred: false });
const DEFERRED: DerivationType = Object.freeze({ kind: 'inputAddressed', deferred: true });
const FIXED: DerivationType = Object.freeze({ kind: 'contentAddressed', fixed: true, sandboxed: false });
const FLOATING: DerivationType = Object.freeze({ kind: 'contentAddressed', fixed: false, sandboxed: true });
const IMPURE: DerivationType = Object.freeze({ kind: 'impure' });

/**
 * Classifies a derivation by its outputs; mixing kinds is an error, as in
 * Nix. Hashing a derivation asks twice per derivation, so the answer is one
 * of five shared objects, found without a Set or array of the kinds.
 */
export function derivationType(drv: Derivation): DerivationType {
  let kind: DerivationOutput['kind'] | undefined;
  let floatingAlgo: HashAlgo | undefined;
  let fixedCount = 0;
  let fixedName = '';
  let mixed = false;
  drv.outputs.forEach((o, name) => {
    if (kind === undefined) kind = o.kind;
    else if (kind !== o.kind) mixed = true;
    if (o.kind === 'fixed') {
      fixedCount++;
      fixedName = name;
    } else if (o.kind === 'floating') {
      if (floatingAlgo !== undefined && floatingAlgo !== o.algo) throw new NixError('all floating outputs must use the same hash type');
      floatingAlgo = o.algo;
    }
  });
  if (kind === undefined) throw new NixError('must have at least one output');
  if (mixed) throw new NixError("can't mix derivation output types");
  switch (kind as DerivationOutput['kind']) {
    case 'inputAddressed':
      return INPUT_ADDRESSED;
    case 'deferred':
      return DEFERRED;
    case 'fixed':
      if (fixedCount > 1) throw new NixError('only one fixed output is allowed for now');
      if (fixedName !== 'out') throw new NixError('single fixed output must be named "out"');
      return FIXED;
    case 'floating':
      return FLOATING;
    case 'impure':
      return IMPURE;
  }
}

export function isFixedOutputDerivation(drv: Derivation): boolean {
  const t = derivationType(drv);
  return t.kind === 'contentAddressed' && t.fixed;
}

export function isBuiltinDerivation(drv: Derivation): boolean {
  return drv.builder.startsWith('builtin:');
}
