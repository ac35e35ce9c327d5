// String builtins: substring, stringLength, replaceStrings, concatStringsSep,
// match, split, splitVersion, compareVersions, parseDrvName, hashString,
// hashFile, convertHash.
//
// Nix strings are byte strings; ours are JavaScript strings holding the text
// decoded from UTF-8. Lengths and offsets are counted in UTF-8 bytes as Nix
// counts them.

import { registerBuiltins } from './registry.js';
import { EvalError, UsageError } from '../errors.js';
import {
  force,
  forceAttrs,
  forceInt,
  forceList,
  forceString,
  forceStringNoCtx,
  forceStringValue,
  contextOf,
  mkString,
  NixAttrs,
  NixString,
  type Lazy,
  requireAttr,
  intToNumber,
  releaseScratchContext,
  takeScratchContext,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import { regexMatch, regexSplit, regexErrorMessage, RegexSyntaxError } from '../regex/index.js';
import { compareVersions, parseDrvName, splitVersion } from '../versions.js';
import { hashBytes, hashFile, parseHashAlgoOpt, parseHashAny, printHash, type HashEncoding } from '../../store/hash.js';
import { byteCount, decodeBytes, encodeBytes, hasRawBytes, joinBytes, rawBytesSeen } from '../../byte-strings.js';
import { strerror } from '../../sys-error.js';

const arg1 = (fn: string) => `while evaluating the first argument passed to builtins.${fn}`;
const arg2 = (fn: string) => `while evaluating the second argument passed to builtins.${fn}`;

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

// Loops over one string (lib.stringToCharacters takes every one-byte
// substring) would rescan it for each call; the last string's encoding facts
// are remembered.
let lastString: string | undefined;
let lastAscii = true;
let lastBytes: Buffer | undefined;

function encodingOf(s: string): { ascii: boolean; bytes: () => Buffer } {
  if (s !== lastString) {
    lastString = s;
    lastAscii = !NON_ASCII.test(s);
    lastBytes = undefined;
  }
  return { ascii: lastAscii, bytes: () => (lastBytes ??= encodeBytes(s)) };
}

/** Bytes [start, start+len) of the UTF-8 encoding; len < 0 means to the end. */
export function byteSubstring(s: string, start: number, len: number): string {
  const enc = encodingOf(s);
  if (enc.ascii) return len < 0 ? s.slice(start) : s.slice(start, start + len);
  const b = enc.bytes();
  if (start >= b.length) return '';
  // A cut through a character leaves raw bytes, as Nix's does.
  return decodeBytes(b.subarray(start, len < 0 ? b.length : Math.min(b.length, start + len)));
}

function regexError(e: unknown, pattern: string): unknown {
  return e instanceof RegexSyntaxError ? new EvalError(regexErrorMessage(e, pattern)) : e;
}

// Nix's parseHashAlgo throws a usage error (the CLI adds its --help hint).
const UNKNOWN_ALGO = (algo: string) => `unknown hash algorithm '${algo}', expect 'blake3', 'md5', 'sha1', 'sha256', or 'sha512'`;

function parseHashFormat(state: EvalState, name: string): HashEncoding {
  switch (name) {
    case 'base16':
    case 'base64':
    case 'sri':
      return name;
    case 'nix32':
      return 'base32';
    case 'base32':
      state.warn('"base32" is a deprecated alias for hash format "nix32".');
      return 'base32';
    default:
      throw new UsageError(`unknown hash format '${name}', expect 'base16', 'base32', 'base64', or 'sri'`);
  }
}


/**
 * `s` with each occurrence of a pattern replaced, scanning left to right and
 * taking the first pattern (in list order) that matches; an empty pattern
 * matches before every character and at the end. One character of `s` is
 * one byte of Nix's string here (callers pass latin1 bytes for that).
 */
function replaceAll(s: string, pats: readonly string[], replacement: (j: number) => string): string {
  // Candidate patterns by first character (plus the empty ones, which
  // match everywhere), kept in list order: the first match wins.
  const empties: number[] = [];
  const byFirst = new Map<string, number[]>();
  pats.forEach((pat, j) => {
    if (pat.length === 0) {
      empties.push(j);
      for (const l of byFirst.values()) l.push(j);
    } else {
      let l = byFirst.get(pat[0]!);
      if (l === undefined) byFirst.set(pat[0]!, (l = [...empties]));
      l.push(j);
    }
  });
  const n = s.length;
  let res = '';
  let copyFrom = 0;
  for (let p = 0; p <= n; ) {
    const cands = p < n ? (byFirst.get(s[p]!) ?? empties) : empties;
    let j = -1;
    for (const k of cands) {
      if (pats[k]!.length === 0 || s.startsWith(pats[k]!, p)) {
        j = k;
        break;
      }
    }
    if (j < 0) {
      p++;
      continue;
    }
    res += s.slice(copyFrom, p) + replacement(j);
    const pat = pats[j]!;
    if (pat.length > 0) p += pat.length;
    else {
      // Past the empty match, the character it stood before is kept.
      if (p < n) res += s[p]!;
      p++;
    }
    copyFrom = p;
  }
  if (copyFrom < n) res += s.slice(copyFrom);
  return res;
}

registerBuiltins([
  {
    name: '__substring',
    arity: 3,
    fn: (args, _pos, state: EvalState) => {
      const start = forceInt(args[0]!, undefined, 'while evaluating the first argument (the start offset) passed to builtins.substring');
      if (start < 0) throw new EvalError("negative start position in 'substring'");
      const len = forceInt(args[1]!, undefined, 'while evaluating the second argument (the substring length) passed to builtins.substring');
      // An empty substring is the idiomatic way to take just a string's context.
      if (len == 0) { // eslint-disable-line eqeqeq -- either int form
        const v = force(args[2]!);
        if (typeof v === 'string') return '';
        if (v instanceof NixString) return new NixString('', v.ctx);
      }
      const context = new Set<string>();
      const s = state.coerceToString(args[2]!, undefined, 'while evaluating the third argument (the string) passed to builtins.substring', context);
      const startN = intToNumber(start);
      const lenN = len < 0 ? -1 : intToNumber(len);
      return mkString(byteSubstring(s, startN, lenN), context);
    },
  },
  {
    name: '__stringLength',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = takeScratchContext();
      try {
        return byteCount(state.coerceToString(args[0]!, undefined, 'while evaluating the argument passed to builtins.stringLength', context));
      } finally {
        releaseScratchContext();
      }
    },
  },
  {
    name: '__replaceStrings',
    arity: 3,
    fn: (args) => {
      const from = forceList(args[0]!, undefined, arg1('replaceStrings'));
      const to = forceList(args[1]!, undefined, arg2('replaceStrings'));
      if (from.length !== to.length) {
        throw new EvalError("'from' and 'to' arguments passed to builtins.replaceStrings have different lengths");
      }
      const pats = from.map((x) => forceString(x, undefined, 'while evaluating one of the strings to replace passed to builtins.replaceStrings'));
      const sv = forceStringValue(args[2]!, undefined, 'while evaluating the third argument passed to builtins.replaceStrings');
      const s = typeof sv === 'string' ? sv : sv.s;
      let context: Set<string> | null = null;
      const addCtx = (c: Iterable<string>) => {
        for (const x of c) (context ??= new Set()).add(x);
      };
      addCtx(contextOf(sv));
      // Replacements are forced only when their pattern is found, and only once.
      const cache = new Map<number, string>();
      const replacement = (j: number): string => {
        let r = cache.get(j);
        if (r === undefined) {
          const v = forceStringValue(to[j]!, undefined, 'while evaluating one of the replacement strings passed to builtins.replaceStrings');
          r = typeof v === 'string' ? v : v.s;
          addCtx(contextOf(v));
          cache.set(j, r);
        }
        return r;
      };
      // Nix compares and steps over bytes. Text gives the same answer unless
      // a pattern or the string holds raw bytes (a pattern may then match
      // part of a character), or an empty pattern steps through a character
      // byte by byte: then the loop runs over the bytes, one latin1 character
      // each, and the result is decoded back.
      const bytewise = (rawBytesSeen && (hasRawBytes(s) || pats.some(hasRawBytes))) || (pats.includes('') && NON_ASCII.test(s));
      let res: string;
      if (bytewise) {
        const bytes = (x: string) => encodeBytes(x).toString('latin1');
        res = decodeBytes(Buffer.from(replaceAll(bytes(s), pats.map(bytes), (j) => bytes(replacement(j))), 'latin1'));
      } else {
        res = replaceAll(s, pats, replacement);
        // A replacement's raw bytes may complete a character at a join.
        if (hasRawBytes(res)) res = decodeBytes(encodeBytes(res));
      }
      return mkString(res, context);
    },
  },
  {
    name: '__concatStringsSep',
    arity: 2,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const sepV = forceStringValue(args[0]!, undefined, 'while evaluating the first argument (the separator string) passed to builtins.concatStringsSep');
      for (const c of contextOf(sepV)) context.add(c);
      const sep = typeof sepV === 'string' ? sepV : sepV.s;
      const list = forceList(args[1]!, undefined, 'while evaluating the second argument (the list of strings to concat) passed to builtins.concatStringsSep');
      const parts: string[] = [];
      for (const elem of list) {
        parts.push(
          state.coerceToString(elem, undefined, 'while evaluating one element of the list of strings to concat passed to builtins.concatStringsSep', context),
        );
      }
      return mkString(joinBytes(parts, sep), context);
    },
  },
  {
    name: '__match',
    arity: 2,
    fn: (args) => {
      const re = forceStringNoCtx(args[0]!, undefined, arg1('match'));
      try {
        const s = forceString(args[1]!, undefined, arg2('match'));
        return regexMatch(re, s);
      } catch (e) {
        throw regexError(e, re);
      }
    },
  },
  {
    name: '__split',
    arity: 2,
    fn: (args) => {
      const re = forceStringNoCtx(args[0]!, undefined, arg1('split'));
      let parts;
      try {
        const s = forceString(args[1]!, undefined, arg2('split'));
        parts = regexSplit(re, s);
      } catch (e) {
        throw regexError(e, re);
      }
      // Without a match the subject itself comes back, context and all.
      if (parts === null) return [args[1]!];
      return parts as Lazy[];
    },
  },
  {
    name: '__splitVersion',
    arity: 1,
    fn: (args) => splitVersion(forceStringNoCtx(args[0]!, undefined, arg1('splitVersion'))),
  },
  {
    name: '__compareVersions',
    arity: 2,
    fn: (args) => {
      const a = forceStringNoCtx(args[0]!, undefined, arg1('compareVersions'));
      const b = forceStringNoCtx(args[1]!, undefined, arg2('compareVersions'));
      return compareVersions(a, b);
    },
  },
  {
    name: '__parseDrvName',
    arity: 1,
    fn: (args) => {
      const { name, version } = parseDrvName(forceStringNoCtx(args[0]!, undefined, arg1('parseDrvName')));
      return new NixAttrs(
        new Map<string, Lazy>([
          ['name', name],
          ['version', version],
        ]),
      );
    },
  },
  {
    name: '__hashString',
    arity: 2,
    fn: (args) => {
      const algoName = forceStringNoCtx(args[0]!, undefined, arg1('hashString'));
      const algo = parseHashAlgoOpt(algoName);
      if (!algo) throw new UsageError(UNKNOWN_ALGO(algoName));
      const s = forceString(args[1]!, undefined, arg2('hashString'));
      return printHash(hashBytes(algo, encodeBytes(s)), 'base16');
    },
  },
  {
    name: '__hashFile',
    arity: 2,
    fn: (args, pos, state: EvalState) => {
      const algoName = forceStringNoCtx(args[0]!, undefined, arg1('hashFile'));
      const algo = parseHashAlgoOpt(algoName);
      if (!algo) throw new UsageError(UNKNOWN_ALGO(algoName));
      const path = state.realisePath(args[1]!, pos);
      try {
        return printHash(hashFile(algo, path), 'base16');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const shown = state.shownPath(path);
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new EvalError(`path '${shown}' does not exist`);
        if (code === 'EISDIR') throw new EvalError(`file '${shown}' is not a regular file`);
        if (code) throw new EvalError(`opening file '${shown}': ${strerror(e)}`);
        throw e;
      }
    },
  },
  {
    name: '__convertHash',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const attrs = forceAttrs(args[0]!, undefined, 'while evaluating the first argument passed to builtins.convertHash');
      const hash = forceStringNoCtx(requireAttr(attrs, 'hash', "while locating the attribute 'hash'"), undefined, "while evaluating the attribute 'hash'");
      const algoV = attrs.get('hashAlgo');
      let algo;
      if (algoV !== undefined) {
        const name = forceStringNoCtx(algoV, undefined, "while evaluating the attribute 'hashAlgo'");
        algo = parseHashAlgoOpt(name);
        if (!algo) throw new UsageError(UNKNOWN_ALGO(name));
      }
      const fmtName = forceStringNoCtx(
        requireAttr(attrs, 'toHashFormat', "while locating the attribute 'toHashFormat'"),
        undefined,
        "while evaluating the attribute 'toHashFormat'",
      );
      const format = parseHashFormat(state, fmtName);
      return printHash(parseHashAny(hash, algo), format, format === 'sri');
    },
  },
]);

