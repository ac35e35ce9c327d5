// hashDerivationModulo: the hash that input-addressed output paths are made
// from. Each input derivation is replaced by its own modulo hash (computed
// recursively, memoised per .drv path), and a fixed-output derivation hashes
// only to "fixed:out:<method+algo>:<hex>:<path>", so changing how a fixed
// output is fetched does not change anything downstream.

import { hashString, printHash, sha256Hex, type Hash } from './hash.js';
import { DEFAULT_STORE_DIR, DRV_EXTENSION, HASH_PART_LEN, makeOutputPath, outputPathName } from './store-path.js';
import { AtermText, derivationStorePath, derivationType, fixedOutputPath, type Derivation } from './derivation.js';
import { fileIngestionPrefix } from './store-path.js';
import { NixError } from '../eval/errors.js';

export interface DrvHash {
  /** The output names. */
  outputs: readonly string[];
  /**
   * The base-16 sha256 of each output: one for all of them (every kind but
   * fixed-output), or per output name. Strings, not Hash objects: a package
   * set keeps one of these per derivation, and they are only ever printed.
   */
  hash: string | Map<string, string>;
  /** Deferred when some input's output paths are not yet known (floating CA). */
  kind: 'regular' | 'deferred';
  /**
   * The .drv's references, when this process wrote it (derivationStrict):
   * a read-only store keeps them nowhere else. Here rather than in a Map of
   * their own, which cost an insertion per derivation. Every DrvHash is
   * made with the field (undefined until set): added later, it would live
   * in a separate properties array, 40 more bytes per derivation.
   */
  references?: readonly string[];
}

const OUT_ONLY: readonly string[] = Object.freeze(['out']);

/** The output names for a DrvHash: one shared array for the usual `out` alone (a package set keeps one per derivation). */
function outputNames(drv: Derivation): readonly string[] {
  return drv.outputs.size === 1 && drv.outputs.has('out') ? OUT_ONLY : [...drv.outputs.keys()];
}

/** The modulo hash of one output (base-16), undefined when there is no such output. */
export function outputHash(h: DrvHash, output: string): string | undefined {
  if (typeof h.hash !== 'string') return h.hash.get(output);
  return h.outputs.includes(output) ? h.hash : undefined;
}

/** What hashDerivationModulo needs to see the input derivations. */
export interface DrvHashContext {
  storeDir?: string;
  /** Reads an input derivation (a .drv store path). */
  readDerivation(drvPath: string): Derivation;
  /** Memo of modulo hashes by .drv path; share it for a whole evaluation. */
  cache?: Map<string, DrvHash>;
}

/** The placeholder hash impure outputs get (sha256 of "impure"), computed on first use. */
let impureOutputHash: string | undefined;

function pathDerivationModulo(drvPath: string, ctx: DrvHashContext): DrvHash {
  const cached = ctx.cache?.get(drvPath);
  if (cached) return cached;
  const h = hashDerivationModulo(ctx.readDerivation(drvPath), ctx, false);
  ctx.cache?.set(drvPath, h);
  return h;
}

export function hashDerivationModulo(drv: Derivation, ctx: DrvHashContext, maskOutputs: boolean, text?: AtermText): DrvHash {
  const storeDir = ctx.storeDir ?? DEFAULT_STORE_DIR;
  const type = derivationType(drv);
  const outputs = outputNames(drv);

  if (type.kind === 'contentAddressed' && type.fixed) {
    const hashes = new Map<string, string>();
    for (const [name, o] of drv.outputs) {
      if (o.kind !== 'fixed') continue;
      const path = fixedOutputPath(drv.name, name, o, storeDir);
      hashes.set(name, sha256Hex(`fixed:out:${fileIngestionPrefix(o.method)}${o.hash.algo}:${printHash(o.hash, 'base16')}:${path}`));
    }
    return { outputs, hash: hashes, kind: 'regular', references: undefined };
  }

  if (type.kind === 'impure') {
    return { outputs, hash: (impureOutputHash ??= sha256Hex('impure')), kind: 'deferred', references: undefined };
  }

  const t = text ?? new AtermText(drv, storeDir);
  const mod = (t.moduloInputs ??= moduloInputs(drv, ctx));
  const kind = type.kind === 'contentAddressed' || mod.deferred ? 'deferred' : 'regular';
  return { outputs, hash: sha256Hex(t.text(maskOutputs, mod.inputs)), kind, references: undefined };
}

/** The input derivations keyed by their modulo hashes, and whether any of them is deferred. */
function moduloInputs(drv: Derivation, ctx: DrvHashContext): { inputs: Map<string, Set<string>>; deferred: boolean } {
  const inputs = new Map<string, Set<string>>();
  let deferred = false;
  for (const [drvPath, outputNames] of drv.inputDrvs) {
    const res = pathDerivationModulo(drvPath, ctx);
    if (res.kind === 'deferred') deferred = true;
    if (typeof res.hash === 'string') {
      // One modulo hash for all of the input's outputs (all but fixed-output
      // derivations): its outputs Set is printed as it is, not copied, unless
      // another input has the same hash (only read, never changed, here).
      const key = res.hash;
      for (const out of outputNames) if (outputHash(res, out) === undefined) throw new Error(`derivation '${drvPath}' has no output '${out}'`);
      const set = inputs.get(key);
      if (set === undefined) inputs.set(key, outputNames);
      else inputs.set(key, new Set([...set, ...outputNames]));
      continue;
    }
    for (const out of outputNames) {
      const key = outputHash(res, out);
      if (key === undefined) throw new Error(`derivation '${drvPath}' has no output '${out}'`);
      let set = inputs.get(key);
      if (!set) inputs.set(key, (set = new Set()));
      set.add(out);
    }
  }
  return { inputs, deferred };
}

/**
 * The (unmasked) modulo hash of a derivation just written, given the sha256
 * of its ATerm (a Hash or base-16): an input-addressed derivation without
 * input derivations hashes to exactly that (there are no inputs to
 * replace), which saves printing and hashing it once more; anything else is
 * computed, reusing `text` when given.
 */
export function moduloHashAfterWrite(drv: Derivation, atermHash: Hash | string, ctx: DrvHashContext, text?: AtermText): DrvHash {
  if (drv.inputDrvs.size === 0 && allInputAddressed(drv)) {
    return { outputs: outputNames(drv), hash: typeof atermHash === 'string' ? atermHash : printHash(atermHash, 'base16'), kind: 'regular', references: undefined };
  }
  return hashDerivationModulo(drv, ctx, false, text);
}

function allInputAddressed(drv: Derivation): boolean {
  for (const o of drv.outputs.values()) if (o.kind !== 'inputAddressed') return false;
  return true;
}

/**
 * Fills in the output paths of an input-addressed derivation whose outputs
 * are given by name only (as derivationStrict builds it): hash the masked
 * derivation, then set each output's path and env variable. If an input is
 * deferred the outputs stay deferred. `text`, when given, is the
 * derivation's AtermText, kept for the texts that follow.
 */
export function fillInputAddressedOutputs(drv: Derivation, outputNames: Iterable<string>, ctx: DrvHashContext, text?: AtermText): void {
  const storeDir = ctx.storeDir ?? DEFAULT_STORE_DIR;
  const names = [...outputNames];
  for (let i = 0; i < names.length; i++) {
    const o = names[i]!;
    drv.env.set(o, '');
    drv.outputs.set(o, { kind: 'deferred' });
  }
  const modulo = hashDerivationModulo(drv, ctx, true, text);
  if (modulo.kind === 'deferred') return;
  for (let i = 0; i < names.length; i++) {
    const o = names[i]!;
    const path = makeOutputPath(o, `sha256:${outputHash(modulo, o)!}`, drv.name, storeDir);
    drv.env.set(o, path);
    drv.outputs.set(o, { kind: 'inputAddressed', path });
  }
}

/**
 * Current Nix's checkInvariants, run when a .drv is registered by any other
 * way than derivationStrict (builtins.toFile, an import): every output path
 * must be the one the derivation itself gives, and so must the environment
 * variable of each output. Nix's messages, traced to the derivation.
 */
export function checkDerivationInvariants(drvPath: string, drv: Derivation, ctx: DrvHashContext): void {
  const storeDir = ctx.storeDir ?? DEFAULT_STORE_DIR;
  try {
    derivationType(drv); // at least one output, no mixed kinds
    let modulo: DrvHash | undefined;
    const envHasRightPath = (name: string, path: string): void => {
      const value = drv.env.get(name);
      if (value === undefined) throw new NixError(`derivation has missing environment variable '${name}', should be '${path}' but is not present`);
      if (value !== path) throw new NixError(`derivation has incorrect environment variable '${name}', should be '${path}' but is actually '${value}'`);
    };
    for (const [name, o] of drv.outputs) {
      if (o.kind === 'fixed') envHasRightPath(name, fixedOutputPath(drv.name, name, o, storeDir));
      if (o.kind !== 'inputAddressed') continue;
      modulo ??= hashDerivationModulo(drv, ctx, true);
      if (modulo.kind === 'deferred') throw new NixError(`derivation has incorrect output '${o.path}', should be deferred`);
      const expected = makeOutputPath(name, `sha256:${outputHash(modulo, name)!}`, drv.name, storeDir);
      if (o.path !== expected) throw new NixError(`derivation has incorrect output '${o.path}', should be '${expected}'`);
      envHasRightPath(name, o.path);
    }
  } catch (e) {
    if (e instanceof NixError) e.addTrace(undefined, `while checking derivation '${drvPath}'`);
    throw e;
  }
}

/**
 * Records a freshly written derivation's modulo hash under its .drv path so
 * later derivations can use it without reading the file (required when
 * nothing is written, e.g. --eval / read-only mode). Returns the .drv path.
 */
export function rememberDerivationHash(drv: Derivation, ctx: DrvHashContext): string {
  const storeDir = ctx.storeDir ?? DEFAULT_STORE_DIR;
  const drvPath = derivationStorePath(drv, storeDir);
  ctx.cache?.set(drvPath, hashDerivationModulo(drv, ctx, false));
  return drvPath;
}

/**
 * What stands for an output whose path is not known until its (floating
 * content-addressed) derivation is built: `/` + base-32 sha256 of
 * "nix-upstream-output:<drv hash part>:<output path name>".
 */
export function downstreamPlaceholder(drvPath: string, outputName: string): string {
  const base = drvPath.slice(drvPath.lastIndexOf('/') + 1);
  const drvName = base.slice(HASH_PART_LEN + 1, -DRV_EXTENSION.length);
  const clear = `nix-upstream-output:${base.slice(0, HASH_PART_LEN)}:${outputPathName(drvName, outputName)}`;
  return '/' + printHash(hashString('sha256', clear), 'base32');
}

/** `/` + base-32 sha256 of "nix-output:<name>": what builtins.placeholder returns. */
export function hashPlaceholder(outputName: string): string {
  return '/' + printHash(hashString('sha256', `nix-output:${outputName}`), 'base32');
}

export { makeOutputPath };
