// A fast path: many patterns behave identically under libstdc++'s POSIX
// executor and JavaScript's backtracking RegExp, and V8 runs the latter far
// faster than ere-exec.ts can. This module decides when that holds and writes
// the equivalent JavaScript source.
//
// The two agree on the first match found in depth-first order (alternatives
// left to right, repetitions greedy). They differ where
//   1. a loop body can match the empty string (JavaScript rejects empty
//      iterations, libstdc++ allows two at one position) — so no quantified
//      part may be nullable;
//   2. a capture group inside a loop is skipped by a later iteration
//      (JavaScript resets it, libstdc++ keeps the old text) — so groups inside
//      a loop must be mandatory in its body;
//   3. searching (split) with alternation: libstdc++ keeps the LONGEST match
//      of all alternatives, JavaScript the first — so split patterns may not
//      contain `|` at all. Whole-string matching is unaffected: all full
//      matches are equally long and the first one found wins in both.

import type { Node } from './ere-compile.js';

/** The sub-patterns directly inside `n`, in order. */
function children(n: Node): Node[] {
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return [];
    case 'seq':
      return n.items;
    case 'alt':
      return [n.left, n.right];
    default:
      return [n.body];
  }
}

/** `n` or some pattern anywhere inside it satisfies `test`. */
function contains(n: Node, test: (n: Node) => boolean): boolean {
  return test(n) || children(n).some((c) => contains(c, test));
}

/**
 * Whenever `n` matches, every one of its children matched too. Not so for
 * alternation (one side) and for parts that may be skipped (*, ?, {0,n}).
 */
function entersEveryChild(n: Node): boolean {
  return n.t === 'group' || n.t === 'seq' || n.t === 'plus' || (n.t === 'interval' && n.min >= 1);
}

function nullable(n: Node): boolean {
  if (n.t === 'char') return false;
  if (n.t === 'alt') return children(n).some(nullable);
  // Anchors match no text, and a part that may be skipped may match none;
  // anything else is empty exactly when all it is made of is.
  return !entersEveryChild(n) || children(n).every(nullable);
}

const hasGroup = (n: Node): boolean => contains(n, (m) => m.t === 'group');
const hasAlt = (n: Node): boolean => contains(n, (m) => m.t === 'alt');

/** Every capture group in `n` is entered whenever `n` matches. */
function groupsMandatory(n: Node): boolean {
  return entersEveryChild(n) ? children(n).every(groupsMandatory) : !children(n).some(hasGroup);
}

function isLoop(n: Node): boolean {
  return n.t === 'star' || n.t === 'plus' || (n.t === 'interval' && (n.max === -1 || n.max > 1));
}

/** Checks conditions 1 and 2 everywhere in `n`. */
function quantifiersSafe(n: Node): boolean {
  return !contains(n, (m) => {
    if (m.t !== 'star' && m.t !== 'plus' && m.t !== 'opt' && m.t !== 'interval') return false;
    return nullable(m.body) || (isLoop(m) && !groupsMandatory(m.body));
  });
}

function source(n: Node): string {
  switch (n.t) {
    case 'char':
      return n.js;
    case 'bol':
      return '^';
    case 'eol':
      return '$';
    case 'group':
      return `(${source(n.body)})`;
    case 'seq':
      return n.items.map(source).join('');
    case 'alt':
      return `(?:${source(n.left)}|${source(n.right)})`;
    case 'star':
      return `(?:${source(n.body)})*`;
    case 'plus':
      return `(?:${source(n.body)})+`;
    case 'opt':
      return `(?:${source(n.body)})?`;
    case 'interval':
      return `(?:${source(n.body)}){${n.min},${n.max === -1 ? '' : n.max}}`;
  }
}

/**
 * V8's backtracking is exponential for nested loops that can split the same
 * text in many ways (`(x+x+)+y` against forty x's: minutes). With this flag
 * a regex that backtracks too much is run again by V8's linear-time engine,
 * which gives the same result for the patterns made here (no lookaround, no
 * back-references). bin/tsnix passes it to node; a process started another
 * way (tests, the single executable) sets it before the first RegExp of the
 * fast path is made, V8 reading it when it runs one.
 */
const LINEAR_FALLBACK = '--enable-experimental-regexp-engine-on-excessive-backtracks';
let linearFallback = false;
function enableLinearFallback(): void {
  if (linearFallback) return;
  linearFallback = true;
  // Setting it again would be harmless, but V8 would recompute its flag hash.
  if (!process.execArgv.includes(LINEAR_FALLBACK)) process.getBuiltinModule('node:v8').setFlagsFromString(LINEAR_FALLBACK);
}

/** A RegExp matching whole strings exactly as builtins.match does, when one exists. */
export function jsExactRegex(ast: Node): RegExp | null {
  if (!quantifiersSafe(ast)) return null;
  enableLinearFallback();
  return new RegExp(`^(?:${source(ast)})$`);
}

/** A global RegExp finding the matches builtins.split finds, when one exists. */
export function jsSearchRegex(ast: Node): RegExp | null {
  if (hasAlt(ast) || !quantifiersSafe(ast)) return null;
  enableLinearFallback();
  return new RegExp(source(ast), 'g');
}
