// The Nix lexer. Like Nix's flex scanner it is a state machine with a stack
// of modes (normal code, "…" strings, ''…'' strings, and the inside of a path
// literal with interpolation), and at each point it takes the longest match,
// preferring the earlier rule on a tie. Tokens are produced on demand so that
// a lexical error later in the file never hides an earlier syntax error.
//
// Scanning works on char codes with hand-written loops (no regex per
// character), so large files lex in linear time.

import { ParseError } from './errors.js';
import type { Origin, Pos } from './position.js';

export type TokenType =
  | 'ID'
  | 'STR'
  | 'IND_STR'
  | 'INT'
  | 'FLOAT'
  | 'PATH'
  | 'HPATH'
  | 'SPATH'
  | 'PATH_END'
  | 'URI'
  | 'IF'
  | 'THEN'
  | 'ELSE'
  | 'ASSERT'
  | 'WITH'
  | 'LET'
  | 'IN'
  | 'REC'
  | 'INHERIT'
  | 'OR_KW'
  | 'ELLIPSIS'
  | 'EQ'
  | 'NEQ'
  | 'LEQ'
  | 'GEQ'
  | 'AND'
  | 'OR'
  | 'IMPL'
  | 'UPDATE'
  | 'CONCAT'
  | 'PIPE_FROM'
  | 'PIPE_INTO'
  | 'DOLLAR_CURLY'
  | 'IND_STRING_OPEN'
  | 'IND_STRING_CLOSE'
  | 'EOF'
  /** A single character the grammar uses literally: `{ } ( ) [ ] ; : , . = @ ? ! + - * / < > "`. */
  | 'CHAR'
  /** Any other character (bison's "invalid token"). */
  | 'INVALID';

export interface Token {
  type: TokenType;
  /** Offsets (UTF-16 code units) into the source; positions are computed from `start`. */
  start: number;
  end: number;
  /** ID/STR/IND_STR/PATH/HPATH/SPATH/URI text (STR and ''\x escapes already unescaped); the character for CHAR. */
  text: string;
  int?: bigint;
  float?: number;
  /** IND_STR tokens whose leading spaces count as indentation (not escapes like ''$). */
  hasIndentation?: boolean;
}

/** Human-readable token names exactly as Nix's bison grammar declares them, for syntax errors. */
export function tokenName(t: { type: TokenType; text: string }): string {
  switch (t.type) {
    case 'ID':
      return 'identifier';
    case 'STR':
      return 'string';
    case 'IND_STR':
      return 'indented string';
    case 'INT':
      return 'integer';
    case 'FLOAT':
      return 'floating-point literal';
    case 'PATH':
      return 'path';
    case 'HPATH':
      return "'~/…' path";
    case 'SPATH':
      return "'<…>' path";
    case 'PATH_END':
      return 'end of path';
    case 'URI':
      return 'URI';
    case 'DOLLAR_CURLY':
      return "'${'";
    case 'IND_STRING_OPEN':
      return 'start of an indented string';
    case 'IND_STRING_CLOSE':
      return 'end of an indented string';
    case 'EOF':
      return 'end of file';
    case 'INVALID':
      return 'invalid token';
    case 'CHAR':
      return `'${t.text}'`;
    default:
      return `'${KEYWORD_TEXT[t.type] ?? t.type}'`;
  }
}

const KEYWORD_TEXT: Partial<Record<TokenType, string>> = {
  IF: 'if',
  THEN: 'then',
  ELSE: 'else',
  ASSERT: 'assert',
  WITH: 'with',
  LET: 'let',
  IN: 'in',
  REC: 'rec',
  INHERIT: 'inherit',
  OR_KW: 'or',
  ELLIPSIS: '...',
  EQ: '==',
  NEQ: '!=',
  LEQ: '<=',
  GEQ: '>=',
  AND: '&&',
  OR: '||',
  IMPL: '->',
  UPDATE: '//',
  CONCAT: '++',
  PIPE_FROM: '<|',
  PIPE_INTO: '|>',
};

const KEYWORDS = new Map<string, TokenType>([
  ['if', 'IF'],
  ['then', 'THEN'],
  ['else', 'ELSE'],
  ['assert', 'ASSERT'],
  ['with', 'WITH'],
  ['let', 'LET'],
  ['in', 'IN'],
  ['rec', 'REC'],
  ['inherit', 'INHERIT'],
  ['or', 'OR_KW'],
]);

/** Characters that the grammar mentions as literal tokens. */
const GRAMMAR_CHARS = new Set('{}()[];:,.=@?!+-*/<>"'.split('').map((c) => c.charCodeAt(0)));

// Character classes, as lookup tables over char codes.
const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const CLASS = new Uint8Array(128);
const PATH_CHAR = 1;
const ID_CHAR = 2;
for (let c = 0; c < 128; c++) {
  const alnum = isAlpha(c) || isDigit(c);
  if (alnum || c === 46 || c === 95 || c === 45 || c === 43) CLASS[c]! |= PATH_CHAR;
  if (alnum || c === 95 || c === 39 || c === 45) CLASS[c]! |= ID_CHAR;
}
/** [a-zA-Z0-9._+-] */
const isPathChar = (c: number) => c < 128 && (CLASS[c]! & PATH_CHAR) !== 0;
/** [a-zA-Z0-9_'-] after the first character of an identifier */
const isIdChar = (c: number) => c < 128 && (CLASS[c]! & ID_CHAR) !== 0;
/** [a-zA-Z0-9+.-] in a URI scheme */
const isSchemeChar = (c: number) => isAlpha(c) || isDigit(c) || c === 43 || c === 45 || c === 46;
const URI_REST = new Uint8Array(128);
for (const ch of "%/?:@&=+$,-_.!~*'") URI_REST[ch.charCodeAt(0)] = 1;
const isUriChar = (c: number) => isAlpha(c) || isDigit(c) || (c < 128 && URI_REST[c] === 1);

const enum Mode {
  Default,
  String,
  IndString,
  InPath,
  InPathSlash,
}

const INT64_MAX = (1n << 63n) - 1n;

/** Offsets to lines and columns, splitting lines at \n, \r\n and a lone \r as Nix does. */
export class LineMap {
  private readonly starts: number[] = [0];
  private readonly ascii: boolean;
  /** Line index of the last lookup: positions are mostly asked for in source order. */
  private last = 0;
  constructor(private readonly source: string) {
    // eslint-disable-next-line no-control-regex
    this.ascii = !/[^\x00-\x7f]/.test(source);
    if (!source.includes('\r')) {
      for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) this.starts.push(i + 1);
      return;
    }
    const n = source.length;
    for (let i = 0; i < n; i++) {
      const c = source.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (source.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }
  private lineIndex(offset: number): number {
    const s = this.starts;
    let i = this.last;
    if (s[i]! <= offset) {
      // a few steps forward cover the common case
      for (let k = 0; k < 4; k++) {
        if (i + 1 >= s.length || s[i + 1]! > offset) return (this.last = i);
        i++;
      }
    }
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return (this.last = lo);
  }
  pos(origin: Origin, offset: number): Pos {
    const lo = this.lineIndex(offset);
    const start = this.starts[lo]!;
    let col = offset - start;
    if (!this.ascii) {
      // Nix counts columns in bytes of UTF-8.
      for (let i = start; i < offset; i++) {
        const c = this.source.charCodeAt(i);
        if (c >= 0x80) col += c >= 0x800 ? (c >= 0xd800 && c <= 0xdfff ? 1 : 2) : 1;
      }
    }
    return { origin, line: lo + 1, column: col + 1 };
  }
}

export interface LexerOptions {
  /** Whether `|>` and `<|` are allowed (the experimental feature 'pipe-operators'). */
  pipeOperators: boolean;
}

export class Lexer {
  private pos = 0;
  private modes: Mode[] = [];
  private mode: Mode = Mode.Default;
  /** Start of the last token matched (including whitespace), which flex reports for errors raised at end of input. */
  private lastMatchStart = 0;

  constructor(
    private readonly src: string,
    private readonly lines: LineMap,
    private readonly origin: Origin,
    private readonly opts: LexerOptions,
  ) {}

  private push(m: Mode) {
    this.modes.push(this.mode);
    this.mode = m;
  }
  private pop() {
    // The bottom of the stack is normal code; a stray `}` there keeps it.
    if (this.modes.length > 0) this.mode = this.modes.pop()!;
  }

  private error(msg: string, offset: number): never {
    throw new ParseError(msg, this.lines.pos(this.origin, offset));
  }

  private tok(type: TokenType, start: number, end: number, text = ''): Token {
    this.pos = end;
    this.lastMatchStart = start;
    return { type, start, end, text };
  }

  next(): Token {
    switch (this.mode) {
      case Mode.Default:
        return this.lexDefault();
      case Mode.String:
        return this.lexString();
      case Mode.IndString:
        return this.lexIndString();
      case Mode.InPath:
      case Mode.InPathSlash:
        return this.lexInPath();
    }
  }

  /** Length of `{PATH_CHAR}*` from `p`. */
  private pathChars(p: number): number {
    const s = this.src;
    let q = p;
    while (q < s.length && isPathChar(s.charCodeAt(q))) q++;
    return q - p;
  }

  /** Length of a `(/{PATH_CHAR}+)+/?` tail starting at p, or 0 if none; `slashEnd` set if it ends in `/`. */
  private pathTail(p: number): { len: number; slashEnd: boolean } {
    const s = this.src;
    let q = p;
    let segs = 0;
    while (s.charCodeAt(q) === 47) {
      const n = this.pathChars(q + 1);
      if (n === 0) break;
      q += 1 + n;
      segs++;
    }
    if (segs === 0) return { len: 0, slashEnd: false };
    if (s.charCodeAt(q) === 47) return { len: q + 1 - p, slashEnd: true };
    return { len: q - p, slashEnd: false };
  }

  private skipSpaceAndComments(): void {
    const s = this.src;
    const n = s.length;
    for (;;) {
      const p = this.pos;
      if (p >= n) return;
      const c = s.charCodeAt(p);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        let q = p + 1;
        while (q < n) {
          const d = s.charCodeAt(q);
          if (d === 32 || d === 9 || d === 10 || d === 13) q++;
          else break;
        }
        this.lastMatchStart = p;
        this.pos = q;
        continue;
      }
      if (c === 35 /* # */) {
        let q = p + 1;
        while (q < n) {
          const d = s.charCodeAt(q);
          if (d === 10 || d === 13) break;
          q++;
        }
        this.lastMatchStart = p;
        this.pos = q;
        continue;
      }
      if (c === 47 /* / */ && s.charCodeAt(p + 1) === 42 /* * */) {
        const close = s.indexOf('*/', p + 2);
        if (close < 0) return; // unterminated: lexed as '/' then '*'
        // A path could still be the longer match: `/*` can't start one, since `*` is no path char.
        this.lastMatchStart = p;
        this.pos = close + 2;
        continue;
      }
      return;
    }
  }

  private lexDefault(): Token {
    this.skipSpaceAndComments();
    const s = this.src;
    const p = this.pos;
    if (p >= s.length) return { type: 'EOF', start: s.length, end: s.length, text: '' };
    const c = s.charCodeAt(p);

    // Candidates that begin with a path character or '/' or '~': identifiers,
    // keywords, numbers, paths, URIs. Take the longest; ties go to the rule
    // listed first in Nix's scanner (keywords, ID, INT, FLOAT before paths).
    if (isPathChar(c) || c === 47 || c === 126 /* ~ */) {
      let bestLen = 0;
      let bestType: TokenType | undefined;
      const lead = this.pathChars(p);
      // identifier / keyword
      if (isAlpha(c) || c === 95) {
        let q = p + 1;
        while (q < s.length && isIdChar(s.charCodeAt(q))) q++;
        bestLen = q - p;
        bestType = 'ID';
      }
      // integer / float
      let numType: TokenType | undefined;
      let numLen = 0;
      if (isDigit(c) || c === 46) {
        let q = p;
        while (q < s.length && isDigit(s.charCodeAt(q))) q++;
        const intLen = q - p;
        // FLOAT: ([1-9][0-9]*\.[0-9]*) | (0?\.[0-9]+), then an optional exponent
        let floatEnd = -1;
        if (c >= 49 && c <= 57 && s.charCodeAt(q) === 46) {
          let r = q + 1;
          while (r < s.length && isDigit(s.charCodeAt(r))) r++;
          floatEnd = r;
        } else {
          let r = p;
          if (c === 48) r++;
          if (s.charCodeAt(r) === 46 && isDigit(s.charCodeAt(r + 1))) {
            r++;
            while (r < s.length && isDigit(s.charCodeAt(r))) r++;
            floatEnd = r;
          }
        }
        if (floatEnd >= 0) {
          const e = s.charCodeAt(floatEnd);
          if (e === 69 || e === 101) {
            let r = floatEnd + 1;
            const sign = s.charCodeAt(r);
            if (sign === 43 || sign === 45) r++;
            if (isDigit(s.charCodeAt(r))) {
              while (r < s.length && isDigit(s.charCodeAt(r))) r++;
              floatEnd = r;
            }
          }
        }
        if (floatEnd - p > intLen) {
          numType = 'FLOAT';
          numLen = floatEnd - p;
        } else if (intLen > 0) {
          numType = 'INT';
          numLen = intLen;
        }
      }
      if (numType && numLen > bestLen) {
        bestLen = numLen;
        bestType = numType;
      }
      // `...`
      if (c === 46 && s.charCodeAt(p + 1) === 46 && s.charCodeAt(p + 2) === 46 && bestLen < 3) {
        bestLen = 3;
        bestType = 'ELLIPSIS';
      }
      // paths
      let pathType: TokenType | undefined;
      let pathLen = 0;
      let pathSlashEnd = false;
      let interpStart = false;
      if (c === 126) {
        if (s.charCodeAt(p + 1) === 47) {
          const tail = this.pathTail(p + 1);
          if (tail.len > 0) {
            pathType = 'HPATH';
            pathLen = 1 + tail.len;
            pathSlashEnd = tail.slashEnd;
          }
          // HPATH_START${ : `~/${`
          if (s.charCodeAt(p + 2) === 36 && s.charCodeAt(p + 3) === 123 && 4 > pathLen) {
            pathType = 'HPATH';
            pathLen = 4;
            interpStart = true;
          }
        }
      } else if (s.charCodeAt(p + lead) === 47) {
        // Only a run of path characters followed by `/` can start a path.
        const tail = this.pathTail(p + lead);
        if (tail.len > 0) {
          pathType = 'PATH';
          pathLen = lead + tail.len;
          pathSlashEnd = tail.slashEnd;
        }
        // PATH_SEG${ : `{PATH_CHAR}*/${`
        const q = p + lead;
        if (s.charCodeAt(q + 1) === 36 && s.charCodeAt(q + 2) === 123 && lead + 3 > pathLen) {
          pathType = 'PATH';
          pathLen = lead + 3;
          interpStart = true;
        }
      }
      if (pathType && pathLen > bestLen) {
        bestLen = pathLen;
        bestType = pathType;
      }
      // URI: [a-zA-Z][a-zA-Z0-9+.-]*:[uri chars]+ — the scheme is part of the
      // run of path characters, so a `:` must follow that run.
      if (isAlpha(c) && s.charCodeAt(p + lead) === 58) {
        let q = p + 1;
        while (q < s.length && isSchemeChar(s.charCodeAt(q))) q++;
        if (s.charCodeAt(q) === 58 && q + 1 < s.length && isUriChar(s.charCodeAt(q + 1))) {
          let r = q + 1;
          while (r < s.length && isUriChar(s.charCodeAt(r))) r++;
          if (r - p > bestLen) {
            bestLen = r - p;
            bestType = 'URI';
          }
        }
      }
      if (bestType !== undefined) {
        const end = p + bestLen;
        const text = s.slice(p, end);
        switch (bestType) {
          case 'ID': {
            const kw = KEYWORDS.get(text);
            if (kw) return this.tok(kw, p, end, text);
            return this.tok('ID', p, end, text);
          }
          case 'INT': {
            const t = this.tok('INT', p, end, text);
            const v = BigInt(text);
            if (v > INT64_MAX) this.error(`invalid integer '${text}'`, p);
            t.int = v;
            return t;
          }
          case 'FLOAT': {
            const t = this.tok('FLOAT', p, end, text);
            const v = Number(text);
            // strtod sets ERANGE on overflow (and on underflow to a denormal or zero)
            if (!Number.isFinite(v) || (v !== 0 && Math.abs(v) < 2.2250738585072014e-308) || (v === 0 && /[1-9]/.test(text.replace(/[eE].*$/, '')))) {
              this.error(`invalid float '${text}'`, p);
            }
            t.float = v;
            return t;
          }
          case 'ELLIPSIS':
            return this.tok('ELLIPSIS', p, end, text);
          case 'PATH':
          case 'HPATH': {
            if (interpStart) {
              // Only the part before `${` is the path token; the lexer then
              // continues inside the path, expecting the interpolation.
              const segEnd = end - 2;
              this.push(Mode.InPathSlash);
              return this.tok(bestType, p, segEnd, s.slice(p, segEnd));
            }
            this.push(pathSlashEnd ? Mode.InPathSlash : Mode.InPath);
            return this.tok(bestType, p, end, text);
          }
          case 'URI':
            return this.tok('URI', p, end, text);
        }
      }
    }

    const c1 = s.charCodeAt(p + 1);
    switch (c) {
      case 61 /* = */:
        if (c1 === 61) return this.tok('EQ', p, p + 2);
        break;
      case 33 /* ! */:
        if (c1 === 61) return this.tok('NEQ', p, p + 2);
        break;
      case 60 /* < */: {
        if (c1 === 61) return this.tok('LEQ', p, p + 2);
        if (c1 === 124) return this.pipe('PIPE_FROM', p);
        // SPATH: <{PATH_CHAR}+(/{PATH_CHAR}+)*>
        let q = p + 1;
        let ok = false;
        for (;;) {
          const n = this.pathChars(q);
          if (n === 0) break;
          q += n;
          if (s.charCodeAt(q) === 62) {
            ok = true;
            break;
          }
          if (s.charCodeAt(q) !== 47) break;
          q++;
        }
        if (ok) return this.tok('SPATH', p, q + 1, s.slice(p, q + 1));
        break;
      }
      case 62 /* > */:
        if (c1 === 61) return this.tok('GEQ', p, p + 2);
        break;
      case 38 /* & */:
        if (c1 === 38) return this.tok('AND', p, p + 2);
        break;
      case 124 /* | */:
        if (c1 === 124) return this.tok('OR', p, p + 2);
        if (c1 === 62) return this.pipe('PIPE_INTO', p);
        break;
      case 45 /* - */:
        if (c1 === 62) return this.tok('IMPL', p, p + 2);
        break;
      case 47 /* / */:
        if (c1 === 47) return this.tok('UPDATE', p, p + 2);
        break;
      case 43 /* + */:
        if (c1 === 43) return this.tok('CONCAT', p, p + 2);
        break;
      case 36 /* $ */:
        if (c1 === 123) {
          this.push(Mode.Default);
          return this.tok('DOLLAR_CURLY', p, p + 2);
        }
        break;
      case 125 /* } */:
        this.pop();
        return this.tok('CHAR', p, p + 1, '}');
      case 123 /* { */:
        this.push(Mode.Default);
        return this.tok('CHAR', p, p + 1, '{');
      case 34 /* " */:
        this.push(Mode.String);
        return this.tok('CHAR', p, p + 1, '"');
      case 39 /* ' */:
        if (c1 === 39) {
          // ''(\ *\n)? — the opening may swallow trailing spaces and one newline
          let q = p + 2;
          while (s.charCodeAt(q) === 32) q++;
          const end = s.charCodeAt(q) === 10 ? q + 1 : p + 2;
          this.push(Mode.IndString);
          return this.tok('IND_STRING_OPEN', p, end);
        }
        break;
    }
    if (GRAMMAR_CHARS.has(c)) return this.tok('CHAR', p, p + 1, s[p]!);
    // Any other character; a whole code point, so the error shows it intact.
    const cp = s.codePointAt(p)!;
    const len = cp > 0xffff ? 2 : 1;
    // flex hands a NUL byte to the parser as end of input, located after it
    if (cp === 0) return { type: 'EOF', start: p + 1, end: p + 1, text: '' };
    return this.tok('INVALID', p, p + len, s.slice(p, p + len));
  }

  private pipe(type: 'PIPE_FROM' | 'PIPE_INTO', p: number): Token {
    if (!this.opts.pipeOperators)
      this.error(
        "experimental Nix feature 'pipe-operators' is disabled; add '--extra-experimental-features pipe-operators' to enable it",
        p,
      );
    return this.tok(type, p, p + 2);
  }

  private lexString(): Token {
    const s = this.src;
    const n = s.length;
    const p = this.pos;
    if (p >= n) return { type: 'EOF', start: n, end: n, text: '' };
    const c = s.charCodeAt(p);
    if (c === 36 && s.charCodeAt(p + 1) === 123) {
      this.push(Mode.Default);
      return this.tok('DOLLAR_CURLY', p, p + 2);
    }
    if (c === 34) {
      this.pop();
      return this.tok('CHAR', p, p + 1, '"');
    }
    // The string body: plain characters, `\x` escapes, and `$` not followed by `{`.
    let out = '';
    let chunk = p;
    let q = p;
    let hasNul = false;
    while (q < n) {
      const d = s.charCodeAt(q);
      if (d === 34) break;
      if (d === 92 /* \ */) {
        if (q + 1 >= n) break;
        out += s.slice(chunk, q);
        const e = s.charCodeAt(q + 1);
        if (e === 110) out += '\n';
        else if (e === 114) out += '\r';
        else if (e === 116) out += '\t';
        else {
          if (e === 0) hasNul = true;
          out += s[q + 1];
        }
        q += 2;
        chunk = q;
        continue;
      }
      if (d === 36 /* $ */) {
        const e = s.charCodeAt(q + 1);
        if (q + 1 >= n) break;
        if (e === 123) break;
        if (e === 34) {
          // `$"`: the dollar ends the string body
          q++;
          break;
        }
        if (e === 92) {
          // `$\x`
          if (q + 2 >= n) break;
          out += s.slice(chunk, q) + '$';
          const f = s.charCodeAt(q + 2);
          if (f === 110) out += '\n';
          else if (f === 114) out += '\r';
          else if (f === 116) out += '\t';
          else {
            if (f === 0) hasNul = true;
            out += s[q + 2];
          }
          q += 3;
          chunk = q;
          continue;
        }
        q += 2;
        if (e === 13) {
          // `$` then CR: normalise the line ending like any other
          out += s.slice(chunk, q - 1) + '\n';
          if (s.charCodeAt(q) === 10) q++;
          chunk = q;
        } else if (e === 0) hasNul = true;
        continue;
      }
      if (d === 13) {
        out += s.slice(chunk, q) + '\n';
        q++;
        if (s.charCodeAt(q) === 10) q++;
        chunk = q;
        continue;
      }
      if (d === 0) hasNul = true;
      q++;
    }
    if (q === p) {
      // Only `$`, `\` or `$\` remain before the end of input: flex reports end of file here.
      this.pos = n;
      return { type: 'EOF', start: n, end: n, text: '' };
    }
    out += s.slice(chunk, q);
    if (hasNul) this.nulError(out, p);
    return this.tok('STR', p, q, out);
  }

  private nulError(text: string, offset: number): never {
    this.error(
      `input string '${text.replace(/\0/g, '␀')}' cannot be represented as Nix string because it contains null bytes`,
      offset,
    );
  }

  private lexIndString(): Token {
    const s = this.src;
    const n = s.length;
    const p = this.pos;
    if (p >= n) return { type: 'EOF', start: n, end: n, text: '' };
    const c = s.charCodeAt(p);
    const c1 = s.charCodeAt(p + 1);
    if (c === 39 /* ' */ && c1 === 39) {
      const c2 = s.charCodeAt(p + 2);
      if (c2 === 36) return this.indStr(p, p + 3, '$');
      if (c2 === 39) return this.indStr(p, p + 3, "''");
      if (c2 === 92 && p + 3 < n) {
        const e = s.charCodeAt(p + 3);
        let v: string;
        if (e === 110) v = '\n';
        else if (e === 114) v = '\r';
        else if (e === 116) v = '\t';
        else if (e === 13) v = '\r';
        else {
          if (e === 0) this.nulError('\0', p);
          v = s[p + 3]!;
        }
        return this.indStr(p, p + 4, v);
      }
      this.pop();
      return this.tok('IND_STRING_CLOSE', p, p + 2);
    }
    if (c === 36 && c1 === 123) {
      this.push(Mode.Default);
      return this.tok('DOLLAR_CURLY', p, p + 2);
    }
    // ([^$']|\$[^{']|'[^'$])+
    let q = p;
    while (q < n) {
      const d = s.charCodeAt(q);
      if (d === 36 || d === 39) {
        if (q + 1 >= n) break;
        const e = s.charCodeAt(q + 1);
        if (d === 36 && (e === 123 || e === 39)) break;
        if (d === 39 && (e === 39 || e === 36)) break;
        q += 2;
        continue;
      }
      q++;
    }
    if (q === p) {
      // a lone `$` or `'`
      return this.indStr(p, p + 1, s[p]!);
    }
    const text = s.slice(p, q);
    if (text.includes('\0')) this.nulError(text, p);
    const t = this.tok('IND_STR', p, q, text);
    t.hasIndentation = true;
    return t;
  }

  private indStr(start: number, end: number, text: string): Token {
    const t = this.tok('IND_STR', start, end, text);
    t.hasIndentation = false;
    return t;
  }

  private lexInPath(): Token {
    const s = this.src;
    const n = s.length;
    const p = this.pos;
    const c = p < n ? s.charCodeAt(p) : -1;
    if (c === 36 && s.charCodeAt(p + 1) === 123) {
      this.mode = Mode.InPath;
      this.push(Mode.Default);
      return this.tok('DOLLAR_CURLY', p, p + 2);
    }
    // {PATH} | {PATH_SEG} | {PATH_CHAR}+ : the longest
    if (c >= 0 && (isPathChar(c) || c === 47)) {
      const lead = this.pathChars(p);
      const tail = this.pathTail(p + lead);
      let len = lead + tail.len;
      if (tail.len === 0 && s.charCodeAt(p + lead) === 47) len = lead + 1; // PATH_SEG
      if (len > 0) {
        const text = s.slice(p, p + len);
        this.mode = text.endsWith('/') ? Mode.InPathSlash : Mode.InPath;
        return this.tok('STR', p, p + len, text);
      }
    }
    if (this.mode === Mode.InPathSlash) {
      // At end of input flex keeps the location of the previous token.
      this.error('path has a trailing slash', p < n ? p : this.lastMatchStart);
    }
    this.pop();
    // flex gives this zero-width token the location of the previous match
    return { type: 'PATH_END', start: this.lastMatchStart, end: p, text: '' };
  }
}
