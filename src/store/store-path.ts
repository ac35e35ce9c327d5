// Store paths: `<storeDir>/<32 base-32 chars>-<name>`. The hash part is the
// sha256 of a descriptive string ("<type>:sha256:<hex>:<storeDir>:<name>")
// folded to 160 bits. Store paths are plain strings here (full paths); these
// helpers compute, validate and take them apart.

import { NixError } from '../eval/errors.js';
import { hashString, printHash, sha256Latin1, type Hash } from './hash.js';
import { encodeBase32, isBase32Char } from './base32.js';
import type { FileIngestionMethod } from './store-api.js';

export const DEFAULT_STORE_DIR = '/nix/store';
export const HASH_PART_LEN = 32;
export const MAX_NAME_LEN = 211;
export const DRV_EXTENSION = '.drv';

/** An invalid store path or store path name (Nix's BadStorePath). */
export class BadStorePathError extends NixError {}

function isValidNameChar(c: string): boolean {
  return (
    (c >= '0' && c <= '9') ||
    (c >= 'a' && c <= 'z') ||
    (c >= 'A' && c <= 'Z') ||
    c === '+' || c === '-' || c === '.' || c === '_' || c === '?' || c === '='
  );
}

/**
 * Validates the name part; `shownPath` is what the message calls the path
 * (Nix reports the whole base name, e.g. `<hash>-na me`).
 */
export function checkStorePathName(name: string, shownPath: string): void {
  if (name.length === 0) throw new BadStorePathError(`store path '${shownPath}' has an empty name`);
  if (name.length > MAX_NAME_LEN)
    throw new BadStorePathError(`store path '${shownPath}' has a name longer than ${MAX_NAME_LEN} characters`);
  const bad = invalidNameChar(name);
  if (bad !== undefined) throw new BadStorePathError(`store path '${shownPath}' contains illegal character '${bad}'`);
}

/** Names made only of the characters isValidNameChar accepts. */
const VALID_NAME = /^[0-9a-zA-Z+\-._?=]*$/;

/** The first character a store path name may not hold, or undefined when all are allowed. */
export function invalidNameChar(name: string): string | undefined {
  // One regular-expression test for the usual valid name (names are checked
  // several times per derivation); the loop only finds the culprit.
  if (VALID_NAME.test(name)) return undefined;
  for (const c of name) if (!isValidNameChar(c)) return c;
  return undefined;
}
/** Nix base-32 digits (no e, o, u, t). */
const VALID_HASH_PART = /^[0-9a-df-np-sv-z]*$/;

/** The error Nix gives for a bad name, or undefined if the name is fine. */
export function storePathNameError(name: string): string | undefined {
  try {
    checkStorePathName(name, name);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Nix's checkName, for names given to the evaluator (derivation names,
 * fetchers' `name`): its message for a name that cannot be a store path
 * name, or undefined. Stricter than checkStorePathName, which reads names
 * already in the store: `.`, `..` and their dash-separated forms are refused.
 */
export function storeNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'name must not be empty';
  if (name.length > MAX_NAME_LEN) return `name '${name}' must be no longer than ${MAX_NAME_LEN} characters`;
  if (name === '.' || name === '..') return `name '${name}' is not valid`;
  if (name.startsWith('.-')) return `name '${name}' is not valid: first dash-separated component must not be '.'`;
  if (name.startsWith('..-')) return `name '${name}' is not valid: first dash-separated component must not be '..'`;
  const bad = invalidNameChar(name);
  return bad === undefined ? undefined : `name '${name}' contains illegal character '${bad}'`;
}

/** Validates a base name `<hash>-<name>` and returns its parts. */
export function parseStorePathBaseName(baseName: string): { hashPart: string; name: string } {
  if (baseName.length < HASH_PART_LEN + 1) throw new BadStorePathError(`'${baseName}' is too short to be a valid store path`);
  const hashPart = baseName.slice(0, HASH_PART_LEN);
  if (!VALID_HASH_PART.test(hashPart))
    for (const c of hashPart)
      if (!isBase32Char(c)) throw new BadStorePathError(`store path '${baseName}' contains illegal base-32 character '${c}'`);
  const name = baseName.slice(HASH_PART_LEN + 1);
  checkStorePathName(name, baseName);
  return { hashPart, name };
}

/** Lexical path normalisation as Nix's canonPath (no symlink resolution). */
export function canonPath(path: string): string {
  if (!path.startsWith('/')) throw new NixError(`not an absolute path: '${path}'`);
  const parts: string[] = [];
  for (const comp of path.split('/')) {
    if (comp === '' || comp === '.') continue;
    if (comp === '..') parts.pop();
    else parts.push(comp);
  }
  return '/' + parts.join('/');
}

export interface ParsedStorePath {
  /** The full path, canonicalised. */
  path: string;
  hashPart: string;
  name: string;
}

/** Parses `<storeDir>/<hash>-<name>`; anything below it is an error (see toStorePath). */
export function parseStorePath(path: string, storeDir: string = DEFAULT_STORE_DIR): ParsedStorePath {
  const p = canonPath(path);
  const slash = p.lastIndexOf('/');
  const dir = slash === 0 ? '/' : p.slice(0, slash);
  if (dir !== storeDir) throw new BadStorePathError(`path '${p}' is not in the Nix store`);
  const { hashPart, name } = parseStorePathBaseName(p.slice(slash + 1));
  return { path: p, hashPart, name };
}

export function isStorePath(path: string, storeDir: string = DEFAULT_STORE_DIR): boolean {
  try {
    parseStorePath(path, storeDir);
    return true;
  } catch {
    return false;
  }
}

/** True if `path` is strictly inside the store directory (Nix's isInStore). */
export function isInStore(path: string, storeDir: string = DEFAULT_STORE_DIR): boolean {
  return path.startsWith(storeDir + '/') && path.length > storeDir.length + 1;
}

/** Splits a path inside the store into its store path and the rest (`/bin/sh` or ''). */
export function toStorePath(path: string, storeDir: string = DEFAULT_STORE_DIR): { storePath: string; rest: string } {
  if (!isInStore(path, storeDir)) throw new NixError(`path '${path}' is not in the Nix store`);
  const slash = path.indexOf('/', storeDir.length + 1);
  if (slash < 0) return { storePath: parseStorePath(path, storeDir).path, rest: '' };
  return { storePath: parseStorePath(path.slice(0, slash), storeDir).path, rest: path.slice(slash) };
}

export function storePathHashPart(storePath: string): string {
  const base = storePath.slice(storePath.lastIndexOf('/') + 1);
  return base.slice(0, HASH_PART_LEN);
}

export function storePathName(storePath: string): string {
  const base = storePath.slice(storePath.lastIndexOf('/') + 1);
  return base.slice(HASH_PART_LEN + 1);
}

export function isDerivationPath(path: string): boolean {
  return path.endsWith(DRV_EXTENSION);
}

// ---------------------------------------------------------------------------
// Computing paths

/**
 * The core rule: hash "<type>:<innerHash>:<storeDir>:<name>" with sha256, fold
 * to 20 bytes, print in base-32. `innerHash` is a Hash (printed `sha256:<hex>`)
 * or that string already.
 */
const foldedDigest = new Uint8Array(20);

export function makeStorePath(type: string, innerHash: Hash | string, name: string, storeDir: string = DEFAULT_STORE_DIR): string {
  const inner = typeof innerHash === 'string' ? innerHash : printHash(innerHash, 'base16', true);
  // compressHash(…, 20) on the digest's 32 bytes into a reused array.
  const digest = sha256Latin1(`${type}:${inner}:${storeDir}:${name}`);
  const folded = foldedDigest;
  for (let i = 0; i < 20; i++) folded[i] = digest.charCodeAt(i);
  for (let i = 20; i < 32; i++) folded[i - 20] ^= digest.charCodeAt(i);
  const baseName = `${encodeBase32(folded)}-${name}`;
  checkStorePathName(name, baseName);
  return `${storeDir}/${baseName}`;
}

/** `<drvName>` for output `out`, `<drvName>-<output>` otherwise. */
export function outputPathName(drvName: string, outputName: string): string {
  return outputName === 'out' ? drvName : `${drvName}-${outputName}`;
}

/** `drvHash` as a Hash or already printed as `sha256:<base-16>`. */
export function makeOutputPath(outputName: string, drvHash: Hash | string, drvName: string, storeDir: string = DEFAULT_STORE_DIR): string {
  return makeStorePath(`output:${outputName}`, drvHash, outputPathName(drvName, outputName), storeDir);
}

/** Appends references (sorted, as Nix keeps them in a set) and `:self` to a path type. */
function typeWithReferences(type: string, references: Iterable<string>, hasSelfReference = false): string {
  let t = type;
  const refs = Array.isArray(references) && isSortedSet(references) ? references : [...new Set(references)].sort();
  for (let i = 0; i < refs.length; i++) t += ':' + refs[i];
  if (hasSelfReference) t += ':self';
  return t;
}

/** True when the strings are strictly ascending (sorted, no duplicates), as references usually come. */
function isSortedSet(xs: readonly string[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i - 1]! < xs[i]!)) return false;
  return true;
}

export function fileIngestionPrefix(method: FileIngestionMethod): string {
  return method === 'recursive' ? 'r:' : '';
}

/**
 * Path of content-addressed data. sha256 + recursive is a "source" path and
 * may have references; anything else goes through an intermediate
 * "fixed:out:..." hash and may not.
 */
export function makeFixedOutputPath(
  method: FileIngestionMethod,
  hash: Hash,
  name: string,
  storeDir: string = DEFAULT_STORE_DIR,
  references: Iterable<string> = [],
  hasSelfReference = false,
): string {
  if (hash.algo === 'sha256' && method === 'recursive')
    return makeStorePath(typeWithReferences('source', references, hasSelfReference), hash, name, storeDir);
  const refs = [...references];
  if (refs.length > 0 || hasSelfReference)
    throw new NixError(`fixed-output path '${name}' cannot have references unless it is sha256 and recursive`);
  const inner = hashString('sha256', `fixed:out:${fileIngestionPrefix(method)}${printHash(hash, 'base16', true)}:`);
  return makeStorePath('output:out', inner, name, storeDir);
}

/** Path of a text file (builtins.toFile, .drv files); the hash must be sha256 of the text (a Hash, or base-16). */
export function makeTextPath(name: string, hash: Hash | string, references: Iterable<string> = [], storeDir: string = DEFAULT_STORE_DIR): string {
  if (typeof hash !== 'string' && hash.algo !== 'sha256') throw new NixError('text paths must use sha256');
  return makeStorePath(typeWithReferences('text', references), typeof hash === 'string' ? 'sha256:' + hash : hash, name, storeDir);
}

export function computeStorePathForText(name: string, text: string | Uint8Array, references: Iterable<string> = [], storeDir: string = DEFAULT_STORE_DIR): string {
  return makeTextPath(name, hashString('sha256', text), references, storeDir);
}
