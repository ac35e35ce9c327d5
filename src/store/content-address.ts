// Content addresses as stored in the database's `ca` column and in narinfo:
// `text:sha256:<base32>` or `fixed:[r:]<algo>:<base32>`.

import { NixError, UsageError } from '../eval/errors.js';
import type { FileIngestionMethod } from './store-api.js';
import { parseHashAlgo, parseHashNonSRIUnprefixed, printHash, type Hash, type HashAlgo } from './hash.js';
import { fileIngestionPrefix, makeFixedOutputPath, makeTextPath, DEFAULT_STORE_DIR } from './store-path.js';

export type ContentAddress =
  | { type: 'text'; hash: Hash }
  | { type: 'fixed'; method: FileIngestionMethod; hash: Hash };

export type ContentAddressMethod =
  | { type: 'text' }
  | { type: 'fixed'; method: FileIngestionMethod; algo: HashAlgo };

export function renderContentAddress(ca: ContentAddress): string {
  if (ca.type === 'text') return `text:${printHash(ca.hash, 'base32', true)}`;
  return `fixed:${fileIngestionPrefix(ca.method)}${printHash(ca.hash, 'base32', true)}`;
}

export function renderContentAddressMethod(m: ContentAddressMethod): string {
  if (m.type === 'text') return 'text:sha256';
  return `fixed:${fileIngestionPrefix(m.method)}${m.algo}`;
}

function splitPrefix(s: string, sep: string): [string, string] | undefined {
  const i = s.indexOf(sep);
  return i < 0 ? undefined : [s.slice(0, i), s.slice(i + 1)];
}

/** Parses the method and algorithm; returns them and what is left (the hash). */
function parseMethodPrefix(whole: string): { method: ContentAddressMethod; rest: string } {
  const p = splitPrefix(whole, ':');
  if (!p) throw new UsageError(`not a content address because it is not in the form '<prefix>:<rest>': ${whole}`);
  let [prefix, rest] = p;
  const takeAlgo = (): HashAlgo => {
    const q = splitPrefix(rest, ':');
    if (!q) throw new UsageError(`content address hash must be in form '<algo>:<hash>', but found: ${whole}`);
    rest = q[1];
    return parseHashAlgo(q[0]);
  };
  if (prefix === 'text') {
    const algo = takeAlgo();
    if (algo !== 'sha256') throw new NixError(`text content address hash should use sha256, but instead uses ${algo}`);
    return { method: { type: 'text' }, rest };
  }
  if (prefix === 'fixed') {
    let method: FileIngestionMethod = 'flat';
    if (rest.startsWith('r:')) {
      method = 'recursive';
      rest = rest.slice(2);
    }
    return { method: { type: 'fixed', method, algo: takeAlgo() }, rest };
  }
  throw new UsageError(`content address prefix '${prefix}' is unrecognized. Recogonized prefixes are 'text' or 'fixed'`);
}

export function parseContentAddress(s: string): ContentAddress {
  const { method, rest } = parseMethodPrefix(s);
  if (method.type === 'text') return { type: 'text', hash: parseHashNonSRIUnprefixed(rest, 'sha256') };
  return { type: 'fixed', method: method.method, hash: parseHashNonSRIUnprefixed(rest, method.algo) };
}

export function parseContentAddressOpt(s: string): ContentAddress | undefined {
  return s === '' ? undefined : parseContentAddress(s);
}

export function parseContentAddressMethod(s: string): ContentAddressMethod {
  return parseMethodPrefix(s + ':').method;
}

/** The store path a content address (plus references) determines. */
export function makePathFromContentAddress(
  name: string,
  ca: ContentAddress,
  references: Iterable<string> = [],
  hasSelfReference = false,
  storeDir: string = DEFAULT_STORE_DIR,
): string {
  if (ca.type === 'text') return makeTextPath(name, ca.hash, references, storeDir);
  return makeFixedOutputPath(ca.method, ca.hash, name, storeDir, references, hasSelfReference);
}
