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

function nullable(n: Node): boolean {
  switch (n.t) {
    case 'char':
      return false;
    case 'bol':
    case 'eol':
      return true;
    case 'group':
      return nullable(n.body);
    case 'seq':
      return n.items.every(nullable);
    case 'alt':
      return nullable(n.left) || nullable(n.right);
    case 'star':
    case 'opt':
      return true;
    case 'plus':
      return nullable(n.body);
    case 'interval':
      return n.min === 0 || nullable(n.body);
  }
}

/** Every capture group in `n` is entered whenever `n` matches. */
function groupsMandatory(n: Node): boolean {
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return true;
    case 'group':
    case 'plus':
      return groupsMandatory(n.body);
    case 'seq':
      return n.items.every(groupsMandatory);
    case 'interval':
      return n.min >= 1 ? groupsMandatory(n.body) : !hasGroup(n.body);
    case 'alt':
      return !hasGroup(n.left) && !hasGroup(n.right);
    case 'star':
    case 'opt':
      return !hasGroup(n.body);
  }
}

function hasGroup(n: Node): boolean {
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return false;
    case 'group':
      return true;
    case 'seq':
      return n.items.some(hasGroup);
    case 'alt':
      return hasGroup(n.left) || hasGroup(n.right);
    default:
      return hasGroup(n.body);
  }
}

function hasAlt(n: Node): boolean {
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return false;
    case 'alt':
      return true;
    case 'seq':
      return n.items.some(hasAlt);
    default:
      return hasAlt(n.body);
  }
}

function isLoop(n: Node): boolean {
  return n.t === 'star' || n.t === 'plus' || (n.t === 'interval' && (n.max === -1 || n.max > 1));
}

/** Checks conditions 1 and 2 everywhere in `n`. */
function quantifiersSafe(n: Node): boolean {
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return true;
    case 'group':
      return quantifiersSafe(n.body);
    case 'seq':
      return n.items.every(quantifiersSafe);
    case 'alt':
      return quantifiersSafe(n.left) && quantifiersSafe(n.right);
    case 'star':
    case 'plus':
    case 'opt':
    case 'interval':
      if (nullable(n.body)) return false;
      if (isLoop(n) && !groupsMandatory(n.body)) return false;
      return quantifiersSafe(n.body);
  }
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

/** A RegExp matching whole strings exactly as builtins.match does, when one exists. */
export function jsExactRegex(ast: Node): RegExp | null {
  if (!quantifiersSafe(ast)) return null;
  return new RegExp(`^(?:${source(ast)})$`);
}

/** A global RegExp finding the matches builtins.split finds, when one exists. */
export function jsSearchRegex(ast: Node): RegExp | null {
  if (hasAlt(ast) || !quantifiersSafe(ast)) return null;
  return new RegExp(source(ast), 'g');
}
