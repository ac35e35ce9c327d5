// Compiles a POSIX extended regular expression into the kind of NFA that
// libstdc++'s std::regex builds for std::regex::extended, which is what Nix's
// builtins.match and builtins.split run. Accepting and rejecting the same
// patterns matters as much as matching: nixpkgs relies on both.
//
// Grammar accepted (libstdc++'s extended flavour, built with strict ANSI):
//   - escapes: only `\` followed by one of . [ \ ( ) * + ? { | ^ $
//   - `]` and `}` outside brackets are ordinary characters; a lone `{` is not
//   - quantifiers * + ? {n} {n,} {n,m} follow atoms only, and may stack (a**)
//   - ^ and $ are assertions anywhere (they cannot be quantified)
//   - brackets: `]` first is literal, backslash is literal, [:class:],
//     [.x.] and [=x=]; ranges must be ascending; a dash at either end is literal
//   - empty alternatives and empty groups are allowed
//
// The NFA shape mirrors libstdc++ so the executor (ere-exec.ts) explores
// paths in the same order and picks the same captures.

export class RegexSyntaxError extends Error {
  constructor(readonly kind: 'invalid' | 'space') {
    super(kind);
  }
}

export type State =
  | { op: 'char'; test: (c: number) => boolean; next: number }
  | { op: 'repeat'; alt: number; next: number }
  | { op: 'alt'; alt: number; next: number }
  | { op: 'subBegin'; idx: number; next: number }
  | { op: 'subEnd'; idx: number; next: number }
  | { op: 'lineBegin'; next: number }
  | { op: 'lineEnd'; next: number }
  | { op: 'dummy'; next: number }
  | { op: 'accept'; next: number };

export interface Program {
  states: State[];
  start: number;
  /** Number of capture groups including group 0 (the whole match). */
  groups: number;
}

// libstdc++ refuses automata above this many states (error_space).
const STATE_LIMIT = 100000;

// ---------------------------------------------------------------------------
// Parsing to a small AST first; compiling the AST emits fresh states for each
// copy a bounded repetition needs (libstdc++ clones the sub-automaton).

export type Node =
  /** `js`: the same set as a JavaScript regex atom, for the RegExp fast path. */
  | { t: 'char'; test: (c: number) => boolean; js: string }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'group'; idx: number; body: Node }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; left: Node; right: Node }
  | { t: 'star'; body: Node }
  | { t: 'plus'; body: Node }
  | { t: 'opt'; body: Node }
  | { t: 'interval'; body: Node; min: number; max: number /* -1: unbounded */ };

const ESCAPABLE = '.[\\()*+?{|^$';

function fail(): never {
  throw new RegexSyntaxError('invalid');
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

const CLASSES: Record<string, (c: number) => boolean> = {
  alnum: (c) => isAlpha(c) || isDigitCode(c),
  alpha: (c) => isAlpha(c),
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isDigitCode(c),
  d: (c) => isDigitCode(c),
  graph: (c) => c > 0x20 && c < 0x7f,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigitCode(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  s: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  xdigit: (c) => isDigitCode(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
  w: (c) => isAlpha(c) || isDigitCode(c) || c === 0x5f,
};

// The same classes as JavaScript class contents (C locale, ASCII only).
const JS_CLASSES: Record<string, string> = {
  alnum: 'A-Za-z0-9',
  alpha: 'A-Za-z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  d: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '\\x21-\\x2f\\x3a-\\x40\\x5b-\\x60\\x7b-\\x7e',
  space: ' \\t-\\x0d',
  s: ' \\t-\\x0d',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
  w: 'A-Za-z0-9_',
};

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// The collating-element names libstdc++'s regex_traits knows, for [.name.]
// and [=name=]: one per character code 0–127, in code order. Letters are
// their own names; no other single character is (`[[.-.]]` is an error).
const COLLATE_NAME_LIST = [
  'NUL', 'SOH', 'STX', 'ETX', 'EOT', 'ENQ', 'ACK', 'alert', 'backspace', 'tab', 'newline', 'vertical-tab',
  'form-feed', 'carriage-return', 'SO', 'SI', 'DLE', 'DC1', 'DC2', 'DC3', 'DC4', 'NAK', 'SYN', 'ETB', 'CAN',
  'EM', 'SUB', 'ESC', 'IS4', 'IS3', 'IS2', 'IS1',
  'space', 'exclamation-mark', 'quotation-mark', 'number-sign', 'dollar-sign', 'percent-sign', 'ampersand',
  'apostrophe', 'left-parenthesis', 'right-parenthesis', 'asterisk', 'plus-sign', 'comma', 'hyphen', 'period',
  'slash', 'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'colon', 'semicolon',
  'less-than-sign', 'equals-sign', 'greater-than-sign', 'question-mark', 'commercial-at',
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  'left-square-bracket', 'backslash', 'right-square-bracket', 'circumflex', 'underscore', 'grave-accent',
  ...'abcdefghijklmnopqrstuvwxyz',
  'left-curly-bracket', 'vertical-line', 'right-curly-bracket', 'tilde', 'DEL',
];
const COLLATE_NAMES = new Map(COLLATE_NAME_LIST.map((name, code) => [name, code]));

class Parser {
  private i = 0;
  groups = 1;

  constructor(private readonly re: string) {}

  parse(): Node {
    const n = this.disjunction();
    if (this.i < this.re.length) fail(); // a stray ')' or an unquantifiable token
    return n;
  }

  private peek(): string | undefined {
    return this.re[this.i];
  }

  private disjunction(): Node {
    let left = this.alternative();
    while (this.peek() === '|') {
      this.i++;
      const right = this.alternative();
      left = { t: 'alt', left, right };
    }
    return left;
  }

  private alternative(): Node {
    const items: Node[] = [];
    for (;;) {
      const term = this.term();
      if (term === null) break;
      items.push(term);
    }
    return { t: 'seq', items };
  }

  private term(): Node | null {
    const c = this.peek();
    if (c === '^') {
      this.i++;
      return { t: 'bol' };
    }
    if (c === '$') {
      this.i++;
      return { t: 'eol' };
    }
    let atom = this.atom();
    if (atom === null) return null;
    for (;;) {
      const q = this.peek();
      if (q === '*') {
        this.i++;
        atom = { t: 'star', body: atom };
      } else if (q === '+') {
        this.i++;
        atom = { t: 'plus', body: atom };
      } else if (q === '?') {
        this.i++;
        atom = { t: 'opt', body: atom };
      } else if (q === '{') {
        this.i++;
        atom = this.interval(atom);
      } else return atom;
    }
  }

  private readCount(): number | undefined {
    if (this.i >= this.re.length) fail();
    if (!isDigit(this.peek())) return undefined;
    // libstdc++ accumulates in a long and returns an int: large counts wrap.
    let n = 0n;
    while (isDigit(this.peek())) {
      n = BigInt.asIntN(64, n * 10n + BigInt(this.re.charCodeAt(this.i) - 48));
      this.i++;
    }
    return Number(BigInt.asIntN(32, n));
  }

  private interval(body: Node): Node {
    const rawMin = this.readCount();
    if (rawMin === undefined) fail();
    let rawMax: number | undefined = rawMin;
    if (this.i >= this.re.length) fail();
    if (this.peek() === ',') {
      this.i++;
      rawMax = this.readCount();
    }
    if (this.i >= this.re.length || this.peek() !== '}') fail();
    this.i++;
    // A (wrapped) negative minimum makes no mandatory copies; the optional
    // copies are max - min, which must not be negative.
    const min = Math.max(0, rawMin);
    if (rawMax === undefined) return { t: 'interval', body, min, max: -1 };
    if (rawMax < rawMin) fail();
    return { t: 'interval', body, min, max: min + (rawMax - rawMin) };
  }

  private atom(): Node | null {
    const c = this.peek();
    if (c === undefined) return null;
    switch (c) {
      case '.':
        this.i++;
        return { t: 'char', test: (x) => x !== 0, js: '[^\\x00]' };
      case '(': {
        this.i++;
        const idx = this.groups++;
        const body = this.disjunction();
        if (this.peek() !== ')') fail();
        this.i++;
        return { t: 'group', idx, body };
      }
      case ')':
      case '|':
        return null;
      case '*':
      case '+':
      case '?':
      case '{':
        // A quantifier with nothing to repeat; the caller reports it.
        return null;
      case '[':
        this.i++;
        return this.bracket();
      case '\\': {
        const e = this.re[this.i + 1];
        if (e === undefined || !ESCAPABLE.includes(e)) fail();
        this.i += 2;
        return literal(e.charCodeAt(0));
      }
      case '^':
      case '$':
        return null;
      default:
        this.i++;
        return literal(c.charCodeAt(0));
    }
  }

  private bracket(): Node {
    const re = this.re;
    let negate = false;
    if (re[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const singles = new Set<number>();
    const ranges: [number, number][] = [];
    const classes: ((c: number) => boolean)[] = [];
    const classJs: string[] = [];
    let atStart = true;

    // One bracket token: a character, a class, a dash or the end. A
    // collating symbol ([.x.]) is a character that may start a range but not
    // end one (libstdc++ ends a range only with a plain character or a dash);
    // an equivalence class ([=x=]) is a class: x in either case, as the C
    // locale's primary collation key is the lower-cased character.
    type Tok =
      | { k: 'char'; c: number; plain: boolean }
      | { k: 'class'; f: (c: number) => boolean; js: string }
      | { k: 'dash' }
      | { k: 'end' };
    const next = (): Tok => {
      if (this.i >= re.length) fail();
      const ch = re[this.i++]!;
      const wasStart = atStart;
      atStart = false;
      if (ch === '-') return { k: 'dash' };
      if (ch === '[') {
        if (this.i >= re.length) fail();
        const kind = re[this.i];
        if (kind === '.' || kind === ':' || kind === '=') {
          this.i++;
          const close = re.indexOf(kind + ']', this.i);
          if (close < 0) fail();
          const name = re.slice(this.i, close);
          this.i = close + 2;
          if (kind === ':') {
            const f = CLASSES[name];
            if (!f) fail();
            return { k: 'class', f, js: JS_CLASSES[name]! };
          }
          const code = COLLATE_NAMES.get(name);
          if (code === undefined) fail();
          if (kind === '.') return { k: 'char', c: code, plain: false };
          const lower = isAlpha(code) ? code | 0x20 : code;
          const f = (c: number): boolean => (isAlpha(c) ? c | 0x20 : c) === lower;
          return { k: 'class', f, js: isAlpha(code) ? jsChar(lower) + jsChar(lower & ~0x20) : jsChar(code) };
        }
        return { k: 'char', c: 0x5b, plain: true };
      }
      if (ch === ']' && !wasStart) return { k: 'end' };
      return { k: 'char', c: ch.charCodeAt(0), plain: true };
    };

    // libstdc++ keeps the last character back so it can tell `a-z` from
    // `a`; after a class or a range there is none, and no range can start.
    let pending: number | undefined;
    let tok = next();
    // A leading dash is a character: it may start a range (`[--a]`).
    if (tok.k === 'dash') tok = { k: 'char', c: 0x2d, plain: true };
    for (;;) {
      if (tok.k === 'end') {
        if (pending !== undefined) singles.add(pending);
        break;
      }
      if (tok.k === 'class') {
        if (pending !== undefined) singles.add(pending);
        pending = undefined;
        classes.push(tok.f);
        classJs.push(tok.js);
        tok = next();
        continue;
      }
      if (tok.k === 'dash') {
        const after = next();
        if (after.k === 'end') {
          // `-]`: a literal dash.
          if (pending !== undefined) singles.add(pending);
          singles.add(0x2d);
          break;
        }
        // `[[:alpha:]-z]`, and a dash after a range (`[a-c-e]`): no range can start here.
        if (pending === undefined) fail();
        let end: number;
        if (after.k === 'dash') end = 0x2d;
        else if (after.k === 'char' && after.plain) end = after.c;
        else fail();
        if (pending > end) fail();
        ranges.push([pending, end]);
        pending = undefined;
        tok = next();
        continue;
      }
      // A character.
      if (pending !== undefined) singles.add(pending);
      pending = tok.c;
      tok = next();
    }

    const test = (c: number): boolean => {
      if (singles.has(c)) return true;
      for (const [lo, hi] of ranges) if (c >= lo && c <= hi) return true;
      for (const f of classes) if (f(c)) return true;
      return false;
    };
    let js = negate ? '[^' : '[';
    for (const c of singles) js += jsChar(c);
    for (const [lo, hi] of ranges) js += `${jsChar(lo)}-${jsChar(hi)}`;
    for (const c of classJs) js += c;
    js += ']';
    // `[^...]` of nothing would be an empty JS class; that cannot be written in ERE anyway.
    return { t: 'char', test: negate ? (c) => !test(c) : test, js };
  }
}

function literal(code: number): Node {
  return { t: 'char', test: (c) => c === code, js: jsChar(code) };
}

/** A character as JavaScript regex source, safe both inside and outside a class. */
function jsChar(code: number): string {
  const c = String.fromCharCode(code);
  return /[A-Za-z0-9 _]/.test(c) ? c : `\\x${code.toString(16).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------
// AST → NFA. A fragment is (start, end) where `end` is a state whose `next`
// is still to be linked.

class Builder {
  states: State[] = [];

  add(s: State): number {
    // parseEre has already refused what std::regex refuses; ours is at most a small factor larger.
    if (this.states.length >= 4 * STATE_LIMIT) throw new RegexSyntaxError('space');
    this.states.push(s);
    return this.states.length - 1;
  }

  link(from: number, to: number): void {
    this.states[from]!.next = to;
  }

  /** Returns [start, end]. */
  build(n: Node): [number, number] {
    switch (n.t) {
      case 'char': {
        const s = this.add({ op: 'char', test: n.test, next: -1 });
        return [s, s];
      }
      case 'bol': {
        const s = this.add({ op: 'lineBegin', next: -1 });
        return [s, s];
      }
      case 'eol': {
        const s = this.add({ op: 'lineEnd', next: -1 });
        return [s, s];
      }
      case 'group': {
        const b = this.add({ op: 'subBegin', idx: n.idx, next: -1 });
        const [s, e] = this.build(n.body);
        this.link(b, s);
        const end = this.add({ op: 'subEnd', idx: n.idx, next: -1 });
        this.link(e, end);
        return [b, end];
      }
      case 'seq': {
        if (n.items.length === 0) {
          const d = this.add({ op: 'dummy', next: -1 });
          return [d, d];
        }
        let [start, end] = this.build(n.items[0]!);
        for (let k = 1; k < n.items.length; k++) {
          const [s, e] = this.build(n.items[k]!);
          this.link(end, s);
          end = e;
        }
        return [start, end];
      }
      case 'alt': {
        const [ls, le] = this.build(n.left);
        const [rs, re] = this.build(n.right);
        const end = this.add({ op: 'dummy', next: -1 });
        this.link(le, end);
        this.link(re, end);
        // The left branch is `alt` and is explored first.
        const a = this.add({ op: 'alt', alt: ls, next: rs });
        return [a, end];
      }
      case 'star': {
        const [s, e] = this.build(n.body);
        const r = this.add({ op: 'repeat', alt: s, next: -1 });
        this.link(e, r);
        return [r, r];
      }
      case 'plus': {
        const [s, e] = this.build(n.body);
        const r = this.add({ op: 'repeat', alt: s, next: -1 });
        this.link(e, r);
        return [s, r];
      }
      case 'opt': {
        const [s, e] = this.build(n.body);
        const end = this.add({ op: 'dummy', next: -1 });
        const r = this.add({ op: 'repeat', alt: s, next: end });
        this.link(e, end);
        return [r, end];
      }
      case 'interval': {
        const first = this.add({ op: 'dummy', next: -1 });
        let end = first;
        for (let k = 0; k < n.min; k++) {
          const [s, e] = this.build(n.body);
          this.link(end, s);
          end = e;
        }
        if (n.max === -1) {
          const [s, e] = this.build(n.body);
          const r = this.add({ op: 'repeat', alt: s, next: -1 });
          this.link(e, r);
          this.link(end, r);
          return [first, r];
        }
        // (n.max - n.min) nested optional copies: x{1,3} = x(x(x)?)?
        const last = this.add({ op: 'dummy', next: -1 });
        for (let k = 0; k < n.max - n.min; k++) {
          const [s, e] = this.build(n.body);
          const r = this.add({ op: 'repeat', alt: s, next: last });
          this.link(end, r);
          end = e;
        }
        this.link(end, last);
        return [first, last];
      }
    }
  }
}

export interface ParsedEre {
  ast: Node;
  /** Number of capture groups including group 0. */
  groups: number;
}

/** Parses a pattern; throws RegexSyntaxError where std::regex would. */
export function parseEre(re: string): ParsedEre {
  const parser = new Parser(re);
  const ast = parser.parse();
  // Group 0, an accept state: as libstdc++ wraps every pattern.
  if (stdStates(ast).alloc + 3 > STATE_LIMIT) throw new RegexSyntaxError('space');
  return { ast, groups: parser.groups };
}

/**
 * How many states libstdc++ allocates for a node (`alloc`, including the
 * unused original of a repeated sub-pattern) and how many a copy of it has
 * (`reach`). Only these counts decide whether std::regex gives up with
 * error_space, so patterns are accepted and refused exactly where Nix does.
 */
function stdStates(n: Node): { alloc: number; reach: number } {
  const same = (k: number) => ({ alloc: k, reach: k });
  switch (n.t) {
    case 'char':
    case 'bol':
    case 'eol':
      return same(1);
    case 'group': {
      const b = stdStates(n.body);
      return { alloc: b.alloc + 2, reach: b.reach + 2 };
    }
    case 'seq': {
      // Every alternative ends in a dummy state.
      let alloc = 1;
      let reach = 1;
      for (const item of n.items) {
        const c = stdStates(item);
        alloc += c.alloc;
        reach += c.reach;
      }
      return { alloc, reach };
    }
    case 'alt': {
      const l = stdStates(n.left);
      const r = stdStates(n.right);
      return { alloc: l.alloc + r.alloc + 2, reach: l.reach + r.reach + 2 };
    }
    case 'star':
    case 'plus': {
      const b = stdStates(n.body);
      return { alloc: b.alloc + 1, reach: b.reach + 1 };
    }
    case 'opt': {
      const b = stdStates(n.body);
      return { alloc: b.alloc + 2, reach: b.reach + 2 };
    }
    case 'interval': {
      const b = stdStates(n.body);
      const copies = n.min * b.reach + (n.max === -1 ? b.reach + 1 : 1 + (n.max - n.min) * (b.reach + 1));
      return { alloc: b.alloc + 1 + copies, reach: 1 + copies };
    }
  }
}

export function compileEre(re: string): Program {
  return buildProgram(parseEre(re));
}

/** The NFA for a parsed pattern. */
export function buildProgram({ ast, groups }: ParsedEre): Program {
  const b = new Builder();
  const whole: Node = { t: 'group', idx: 0, body: ast };
  const [s, e] = b.build(whole);
  const acc = b.add({ op: 'accept', next: -1 });
  b.link(e, acc);
  return { states: b.states, start: s, groups };
}
