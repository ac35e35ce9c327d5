// Symbol ids in order of first sight. Nix keeps attribute sets sorted by
// symbol id (the order names were first met by the lexer, after the builtins),
// and that order decides which attribute deep forcing, equality and the
// unexpected-argument check visit first. We intern names as they are compiled
// (source order) so those choices match Nix's.

import type { NixAttrs } from './values.js';

const symbolIds = new Map<string, number>();

// Nix creates these symbols before anything else (its StaticEvalSymbols), so
// they sort first: e.g. deep forcing of a derivation visits `outPath` before
// the user's attributes.
for (const name of [
  '<with>', 'outPath', 'drvPath', 'type', 'meta', 'name', 'value', 'system', '__overrides', 'outputs', 'outputName',
  '__ignoreNulls', 'file', 'line', 'column', '__functor', '__toString', 'right', 'wrong', '__structuredAttrs', '__json',
  'allowedReferences', 'allowedRequisites', 'disallowedReferences', 'disallowedRequisites', 'maxSize', 'maxClosureSize',
  'builder', 'args', '__contentAddressed', '__impure', 'outputHash', 'outputHashAlgo', 'outputHashMode',
  'recurseForDerivations', 'description', 'self', '', 'startSet', 'operator', 'key', 'path', 'prefix', 'outputSpecified',
  'requiredSystemFeatures', '__sub', '__lessThan', '__mul', '__div', 'or', '__findFile', '__nixPath', 'body',
]) {
  symbolIds.set(name, symbolIds.size);
}

export function internSymbol(name: string): number {
  let id = symbolIds.get(name);
  if (id === undefined) {
    id = symbolIds.size;
    symbolIds.set(name, id);
  }
  return id;
}

export function symbolCount(): number {
  return symbolIds.size;
}

const symbolOrderCache = new WeakMap<object, string[]>();

/** The names of a set in Nix's storage order (by symbol id). */
export function symbolOrder(attrs: NixAttrs): string[] {
  const key = attrs.namesKey;
  let ks = symbolOrderCache.get(key);
  if (ks === undefined) {
    ks = attrs.keys().slice();
    const ids = new Map<string, number>();
    for (const k of ks) ids.set(k, internSymbol(k));
    ks.sort((a, b) => ids.get(a)! - ids.get(b)!);
    symbolOrderCache.set(key, ks);
  }
  return ks;
}
