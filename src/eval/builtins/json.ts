// builtins.toJSON and builtins.fromJSON.
//
// toJSON writes no whitespace, attributes sorted by name, floats as C++
// streams print them and strings with minimal escapes, as Nix 2.8 does. Sets
// are "peeled" through `__toString` and `outPath` first (with the checks of
// current Nix), and paths are copied to the store.

import { registerBuiltins } from './registry.js';
import { EvalError, NixError, StackOverflowError, TypeError } from '../errors.js';
import { hasRawBytes, utf8Error } from '../../byte-strings.js';
import {
  addContext,
  force,
  forceStringNoCtx,
  Lambda,
  mkString,
  NixAttrs,
  NixPath,
  NixString,
  showType,
  Thunk,
  type Lazy,
  type Value,
  isInt,
  NixFloat,
  mkInt,
} from '../values.js';
import type { EvalState } from '../eval-state.js';
import type { Pos } from '../position.js';
import { printValue, errorPrintOptions } from '../print-value.js';
import { formatFloat } from '../float-format.js';
import { parseJson, JSONParseError } from '../json-parse.js';
import { printAttributeName } from '../literal-strings.js';

// ---------------------------------------------------------------------------
// Output formatting (Nix 2.8's JSON writer: the reference for derivation
// hashes that embed toJSON output)

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\x00-\x1f]/;

/** A JSON string literal: `"`, `\\`, \n, \r, \t by name, other control characters as \u00xx. */
export function jsonString(s: string): string {
  // Most strings need no escape: one test, and no replace callback.
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  // eslint-disable-next-line no-control-regex
  return `"${s.replace(/["\\\x00-\x1f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** Floats as C++ streams print them (%g, 6 significant digits), as Nix 2.8 writes them. */
export function jsonFloat(x: number): string {
  return formatFloat(x);
}

// ---------------------------------------------------------------------------
// Nix value → JSON text

function isWHNF(x: Lazy): boolean {
  return !(x instanceof Thunk) || x.forced;
}

function addTrace(e: unknown, pos: Pos | undefined, hint: string): unknown {
  if (e instanceof NixError) e.addTrace(pos, hint);
  return e;
}

/**
 * Nix's peelToStringOutPath with checkToStringReturn: follows `__toString`
 * (which must yield a string or path) and `outPath` until a non-set or a set
 * with neither. Returns the peeled value and whether a `__toString` was used.
 */
export function peel(state: EvalState, v: NixAttrs, pos: Pos | undefined): { value: Value; viaToString: boolean } {
  let viaToString = false;
  const go = (x: Lazy, pos: Pos | undefined): Value => {
    const v = force(x, pos);
    if (!(v instanceof NixAttrs)) {
      if (viaToString && typeof v !== 'string' && !(v instanceof NixString) && !(v instanceof NixPath)) {
        throw new TypeError(`\`__toString\` should return a string, but got ${showType(v)}: ${printValue(v, errorPrintOptions)}`, pos);
      }
      return v;
    }
    const toStr = v.get('__toString');
    if (toStr !== undefined) {
      const tpos = v.posOf('__toString');
      let r: Value;
      try {
        r = state.callFunction(force(toStr, tpos), [v], tpos);
      } catch (e) {
        throw addTrace(e, tpos, 'while calling the `__toString` attribute');
      }
      viaToString = true;
      enterCallDepth(state, pos);
      try {
        return go(r, tpos);
      } catch (e) {
        throw addTrace(e, tpos, `while ${isWHNF(r) ? 'using' : 'evaluating'} the result of the \`__toString\` attribute`);
      } finally {
        state.callDepth--;
      }
    }
    const outPath = v.get('outPath');
    if (outPath !== undefined) {
      const opos = v.posOf('outPath');
      try {
        force(outPath, opos);
        enterCallDepth(state, pos);
        try {
          return go(outPath, opos);
        } finally {
          state.callDepth--;
        }
      } catch (e) {
        throw addTrace(e, opos, `while ${isWHNF(outPath) ? 'using' : 'evaluating'} the \`outPath\` attribute`);
      }
    }
    if (viaToString) {
      throw new TypeError(`\`__toString\` must return a string, but got ${showType(v)}: ${printValue(v, errorPrintOptions)}`, pos);
    }
    return v;
  };
  const value = go(v, pos);
  return { value, viaToString };
}

/**
 * Nix's addCallDepth, so deep structures fail as Nix fails rather than
 * overflowing the JS stack. Nix checks the depth before counting the new
 * level, so max-call-depth + 1 levels are allowed.
 */
export function enterCallDepth(state: EvalState, pos: Pos | undefined): void {
  if (state.callDepth > state.settings.maxCallDepth) {
    throw new StackOverflowError('stack overflow; max-call-depth exceeded', pos);
  }
  state.callDepth++;
}

/**
 * Appends the JSON text of `x` to `out`; string contexts (and store paths of
 * copied paths) are added to `context`.
 */
export function printValueAsJson(
  state: EvalState,
  strict: boolean,
  x: Lazy,
  pos: Pos | undefined,
  context: Set<string>,
  copyToStore = true,
): string {
  // Pieces are joined a few thousand at a time: one array (or one rope)
  // of all of them kept millions of small strings alive to the end, and
  // the collector copying them cost four times the writing itself.
  const done: string[] = [];
  const chunk: string[] = [];
  const put = (s: string): void => {
    chunk.push(s);
    if (chunk.length === 4096) {
      done.push(chunk.join(''));
      chunk.length = 0;
    }
  };
  // Current Nix builds the whole JSON value before writing it out, and the
  // writer rejects a string that is not valid UTF-8: the first such string
  // fails the conversion once everything has been evaluated.
  let invalid: string | undefined;
  const str = (s: string): string => {
    if (invalid === undefined && hasRawBytes(s)) invalid = utf8ErrorText(s);
    return jsonString(s);
  };
  const go = (x: Lazy, pos: Pos | undefined, copyToStore: boolean): void => {
    enterCallDepth(state, pos);
    try {
      let v: Value;
      if (strict) v = force(x, pos);
      else if (x instanceof Thunk && !x.forced) throw new TypeError('cannot convert a thunk to JSON', pos);
      else v = force(x);
      if (isInt(v)) put(v.toString());
      else if (typeof v === 'boolean') put(v ? 'true' : 'false');
      else if (v === null) put('null');
      else if (v instanceof NixFloat) put(jsonFloat(v.v));
      else if (typeof v === 'string') put(str(v));
      else if (v instanceof NixString) {
        addContext(context, v.ctx);
        put(str(v.s));
      } else if (v instanceof NixPath) {
        put(jsonString(copyToStore ? state.copyPathToStore(v.path, context) : v.path));
      } else if (Array.isArray(v)) {
        put('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) put(',');
          try {
            go(v[i]!, pos, copyToStore);
          } catch (e) {
            throw addTrace(e, pos, `while evaluating list element at index ${i}`);
          }
        }
        put(']');
      } else if (v instanceof NixAttrs) {
        // Most sets have neither `__toString` nor `outPath`: no peeling.
        let value: Value = v;
        if (v.has('__toString') || v.has('outPath')) {
          const peeled = peel(state, v, pos);
          value = peeled.value;
          if (!(value instanceof NixAttrs)) {
            // A path reached through `__toString` stays a plain path string (a quirk Nix keeps).
            go(value, pos, copyToStore && !peeled.viaToString);
            return;
          }
        }
        put('{');
        let first = true;
        for (const name of value.keys()) {
          if (!first) put(',');
          first = false;
          put(str(name) + ':');
          const apos = value.posOf(name);
          try {
            go(value.get(name)!, apos, copyToStore);
          } catch (e) {
            throw addTrace(e, apos, `while evaluating attribute '${printAttributeName(name)}'`);
          }
        }
        put('}');
      } else {
        const where = v instanceof Lambda ? (v.info.pos ?? pos) : pos;
        throw new TypeError(`cannot convert ${showType(v)} to JSON`, where);
      }
    } finally {
      state.callDepth--;
    }
  };
  go(x, pos, copyToStore);
  if (invalid !== undefined) throw new EvalError(`JSON serialization error: [json.exception.type_error.316] ${invalid}`);
  done.push(chunk.join(''));
  return done.length === 1 ? done[0]! : done.join('');
}

/** nlohmann::json's words (which Nix passes on) for a string that is not valid UTF-8. */
function utf8ErrorText(s: string): string | undefined {
  const e = utf8Error(s);
  if (e === undefined) return undefined;
  const hex = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');
  return e.kind === 'invalid' ? `invalid UTF-8 byte at index ${e.index}: 0x${hex(e.byte)}` : `incomplete UTF-8 string; last byte: 0x${hex(e.last)}`;
}

// ---------------------------------------------------------------------------
// JSON text → Nix value

/** Parses JSON straight into Nix values (the parser is iterative, so depth is no problem). */
export function jsonToValue(text: string): Value {
  return parseJson<Value>(text, {
    array: (xs) => xs as Lazy[],
    object: (m) => new NixAttrs(m as Map<string, Lazy>),
    int: (n) => mkInt(n),
    float: (x) => new NixFloat(x),
  });
}

registerBuiltins([
  {
    name: '__toJSON',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const context = new Set<string>();
      const s = printValueAsJson(state, true, args[0]!, undefined, context);
      return mkString(s, context);
    },
  },
  {
    name: '__fromJSON',
    arity: 1,
    fn: (args) => {
      const s = forceStringNoCtx(args[0]!, undefined, 'while evaluating the first argument passed to builtins.fromJSON');
      try {
        return jsonToValue(s);
      } catch (e) {
        if (e instanceof JSONParseError) e.addTrace(undefined, 'while decoding a JSON string');
        throw e;
      }
    },
  },
]);

