// TOML 1.0 → a plain tree, for builtins.fromTOML. Nix uses toml11; the value
// rules follow TOML 1.0 and toml11's choices where the spec leaves room:
// integers are signed 64-bit (larger ones are an error), dates and times are
// kept as their canonical text (Nix rejects them unless the
// parse-toml-timestamps feature is on), tables and arrays as Map and array.
//
// Errors are TomlError, whose message is what Nix prints after
// "while parsing TOML: " — in toml11's layout, with the offending line and a
// caret.

import { firstRawByteIndex } from '../byte-strings.js';

export type TomlValue = bigint | number | string | boolean | TomlValue[] | TomlTable | TomlDateTime;

/** A date, time or date-time, as toml11 prints it after Nix's normalisation. */
export class TomlDateTime {
  constructor(readonly text: string) {}
}

/** How a table came to exist decides what may be added to it later. */
type TableKind = 'implicit' | 'header' | 'dotted' | 'inline' | 'root';

export class TomlTable {
  readonly map = new Map<string, TomlValue>();
  constructor(public kind: TableKind) {}
}

/** An array built by [[header]]s, which more headers may extend (static arrays may not). */
class TableArray extends Array<TomlValue> {}

export class TomlError extends Error {}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function isBareKeyChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_-]/.test(c);
}

/** Basic and literal strings differ only in their quote and whether a backslash escapes. */
interface StringKind {
  readonly quote: string;
  readonly escapes: boolean;
  /** As in toml11's parser names (parse_basic_string, parse_ml_literal_string, ...). */
  readonly name: string;
}
const BASIC: StringKind = { quote: '"', escapes: true, name: 'basic' };
const LITERAL: StringKind = { quote: "'", escapes: false, name: 'literal' };

function stringKind(c: string | undefined): StringKind | undefined {
  return c === '"' ? BASIC : c === "'" ? LITERAL : undefined;
}

/** The escapes that stand for one fixed character; \u and \U are decoded apart. */
const SIMPLE_ESCAPES = new Map([
  ['b', '\b'],
  ['t', '\t'],
  ['n', '\n'],
  ['f', '\f'],
  ['r', '\r'],
  ['"', '"'],
  ['\\', '\\'],
]);

/** Prefixed integers: the digits each prefix allows (underscores only between digits). */
const RADIX_DIGITS = new Map([
  ['x', /^[0-9A-Fa-f]+(_[0-9A-Fa-f]+)*$/],
  ['o', /^[0-7]+(_[0-7]+)*$/],
  ['b', /^[01]+(_[01]+)*$/],
]);

class Parser {
  private i = 0;
  private readonly root = new TomlTable('root');
  private current: TomlTable = this.root;

  constructor(private readonly src: string) {}

  // --- errors ---------------------------------------------------------------

  private error(title: string, note: string, at = this.i): never {
    const before = this.src.slice(0, at);
    const lineNo = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    let lineEnd = this.src.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = this.src.length;
    const line = this.src.slice(lineStart, lineEnd).replace(/\r$/, '');
    const col = at - lineStart;
    const num = String(lineNo);
    const bar = ' '.repeat(num.length + 2) + '|';
    throw new TomlError(
      `[error] ${title}\n${' '.repeat(num.length)}--> fromTOML\n${bar}\n ${num} | ${line}\n${bar} ${' '.repeat(col)}^-- ${note}\n`,
    );
  }

  // --- lexical helpers -----------------------------------------------------

  private peek(off = 0): string | undefined {
    return this.src[this.i + off];
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.i);
  }

  private skipWs(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  /** Consumes one newline (LF or CRLF), if one is next. */
  private skipNewline(): boolean {
    if (this.peek() === '\n') this.i++;
    else if (this.startsWith('\r\n')) this.i += 2;
    else return false;
    return true;
  }

  private skipComment(): void {
    if (this.peek() !== '#') return;
    while (this.i < this.src.length && this.peek() !== '\n' && !this.startsWith('\r\n')) {
      const c = this.src.charCodeAt(this.i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) this.error('toml::parse_comment: invalid character in comment', 'here');
      this.i++;
    }
  }

  /** Whitespace, comments and newlines (inside arrays and between statements). */
  private skipWsCommentsNewlines(): void {
    for (;;) {
      this.skipWs();
      this.skipComment();
      if (!this.skipNewline()) return;
    }
  }

  private expectLineEnd(): void {
    this.skipWs();
    this.skipComment();
    if (this.i >= this.src.length || this.skipNewline()) return;
    this.error('toml::parse: expected newline', 'expected newline, but got this');
  }

  // --- document -----------------------------------------------------------

  parse(): TomlTable {
    // A TOML document is UTF-8; a byte that is not (byte-strings.ts) is an
    // error where it stands, in toml11's words ("invalid utf8 sequence
    // found", as Nix 2.8 prints them).
    const raw = firstRawByteIndex(this.src);
    if (raw >= 0) this.error('toml::parse: invalid utf8 sequence found', 'here', raw);
    for (;;) {
      this.skipWsCommentsNewlines();
      if (this.i >= this.src.length) break;
      if (this.startsWith('[[')) this.arrayTableHeader();
      else if (this.peek() === '[') this.tableHeader();
      else this.keyValue(this.current);
      this.expectLineEnd();
    }
    return this.root;
  }

  private tableHeader(): void {
    const at = this.i;
    this.i++;
    this.skipWs();
    const keys = this.key();
    this.skipWs();
    if (this.peek() !== ']') this.error('toml::parse_table_key: invalid table key', "expected ']'");
    this.i++;
    const parent = this.walkHeader(keys.slice(0, -1), at);
    const last = keys[keys.length - 1]!;
    const existing = parent.map.get(last);
    if (existing === undefined) {
      const t = new TomlTable('header');
      parent.map.set(last, t);
      this.current = t;
    } else if (existing instanceof TomlTable && existing.kind === 'implicit') {
      existing.kind = 'header';
      this.current = existing;
    } else {
      this.error(`toml::insert_value: table ("${keys.join('.')}") already exists.`, 'table already defined', at);
    }
  }

  private arrayTableHeader(): void {
    const at = this.i;
    this.i += 2;
    this.skipWs();
    const keys = this.key();
    this.skipWs();
    if (!this.startsWith(']]')) this.error('toml::parse_array_table_key: invalid array-of-tables key', "expected ']]'");
    this.i += 2;
    const parent = this.walkHeader(keys.slice(0, -1), at);
    const last = keys[keys.length - 1]!;
    const existing = parent.map.get(last);
    const t = new TomlTable('header');
    if (existing === undefined) {
      const arr = new TableArray();
      arr.push(t);
      parent.map.set(last, arr);
    } else if (existing instanceof TableArray) {
      existing.push(t);
    } else {
      this.error(`toml::insert_value: value ("${keys.join('.')}") is not an array of tables.`, 'cannot append to it', at);
    }
    this.current = t;
  }

  /** The table a header's prefix names, creating implicit tables on the way. */
  private walkHeader(keys: string[], at: number): TomlTable {
    let t = this.root;
    for (const k of keys) {
      const v = t.map.get(k);
      if (v === undefined) {
        const n = new TomlTable('implicit');
        t.map.set(k, n);
        t = n;
      } else if (v instanceof TomlTable && v.kind !== 'inline') {
        t = v;
      } else if (v instanceof TableArray) {
        t = v[v.length - 1] as TomlTable;
      } else {
        this.error(`toml::insert_value: key ("${k}") already exists and is not a table.`, 'conflicts with an existing value', at);
      }
    }
    return t;
  }

  private keyValue(table: TomlTable): void {
    const at = this.i;
    const keys = this.key();
    this.skipWs();
    if (this.peek() !== '=') this.error('toml::parse_key_value_pair: missing key-value separator `=`', "expected '='");
    this.i++;
    this.skipWs();
    const value = this.value();
    let t = table;
    for (const k of keys.slice(0, -1)) {
      const v = t.map.get(k);
      if (v === undefined) {
        const n = new TomlTable(table.kind === 'inline' ? 'inline' : 'dotted');
        t.map.set(k, n);
        t = n;
      } else if (v instanceof TomlTable && (v.kind === 'dotted' || (v.kind === 'inline' && table.kind === 'inline' && v !== table))) {
        t = v;
      } else {
        this.error(`toml::insert_value: key ("${keys.join('.')}") conflicts with an existing value.`, 'key already defined', at);
      }
    }
    const last = keys[keys.length - 1]!;
    if (t.map.has(last)) this.error(`toml::insert_value: value ("${keys.join('.')}") already exists.`, 'key already defined', at);
    t.map.set(last, value);
  }

  /** A possibly dotted key. */
  private key(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipWs();
      keys.push(this.simpleKey());
      this.skipWs();
      if (this.peek() !== '.') return keys;
      this.i++;
    }
  }

  private simpleKey(): string {
    const kind = stringKind(this.peek());
    if (kind) {
      if (this.startsWith(kind.quote.repeat(3))) this.error('toml::parse_key: multi-line strings are not allowed as keys', 'here');
      return this.string(kind);
    }
    const start = this.i;
    while (isBareKeyChar(this.peek())) this.i++;
    if (this.i === start) this.error('toml::parse_key: invalid key', 'expected key');
    return this.src.slice(start, this.i);
  }

  // --- values -------------------------------------------------------------

  private value(): TomlValue {
    const c = this.peek();
    const kind = stringKind(c);
    if (kind) return this.startsWith(kind.quote.repeat(3)) ? this.multilineString(kind) : this.string(kind);
    if (c === '[') return this.array();
    if (c === '{') return this.inlineTable();
    if (this.startsWith('true') && !isBareKeyChar(this.peek(4))) {
      this.i += 4;
      return true;
    }
    if (this.startsWith('false') && !isBareKeyChar(this.peek(5))) {
      this.i += 5;
      return false;
    }
    const dt = this.dateTime();
    if (dt !== undefined) return dt;
    return this.number();
  }

  private escape(): string {
    // at the backslash
    const at = this.i;
    this.i++;
    const c = this.peek();
    this.i++;
    const simple = c === undefined ? undefined : SIMPLE_ESCAPES.get(c);
    if (simple !== undefined) return simple;
    if (c !== 'u' && c !== 'U') {
      this.error('toml::parse_escape_sequence: unknown escape sequence', 'escape sequence is one of \\, ", b, t, n, f, r, uxxxx, Uxxxxxxxx', at);
    }
    const n = c === 'u' ? 4 : 8;
    const hex = this.src.slice(this.i, this.i + n);
    if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) {
      this.error('toml::parse_escape_sequence: invalid unicode escape', `expected ${n} hex digits`, at);
    }
    this.i += n;
    const cp = parseInt(hex, 16);
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      this.error('toml::parse_escape_sequence: invalid unicode codepoint', 'not a Unicode scalar value', at);
    }
    return String.fromCodePoint(cp);
  }

  private checkStringChar(c: string, multiline: boolean): void {
    const code = c.charCodeAt(0);
    if ((code < 0x20 && code !== 0x09 && !(multiline && code === 0x0a)) || code === 0x7f) {
      if (multiline && c === '\r' && this.peek(1) === '\n') return;
      this.error('toml::parse_string: invalid character in string', 'control characters must be escaped');
    }
  }

  /** A one-line string, at its opening quote. */
  private string(kind: StringKind): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '\n') this.error(`toml::parse_${kind.name}_string: missing closing quote`, `expected ${kind.quote}`);
      if (c === kind.quote) {
        this.i++;
        return out;
      }
      if (kind.escapes && c === '\\') {
        out += this.escape();
        continue;
      }
      this.checkStringChar(c, false);
      out += c;
      this.i++;
    }
  }

  /** A multi-line string, at its opening triple quote. */
  private multilineString(kind: StringKind): string {
    const delimiter = kind.quote.repeat(3);
    this.i += 3;
    // A newline right after the opening delimiter is not part of the string.
    this.skipNewline();
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.error(`toml::parse_ml_${kind.name}_string: missing closing quotes`, `expected ${delimiter}`);
      if (this.startsWith(delimiter)) {
        // Up to two quotes may directly precede the closing delimiter.
        let n = 3;
        while (n < 5 && this.peek(n) === kind.quote) n++;
        out += kind.quote.repeat(n - 3);
        this.i += n;
        return out;
      }
      if (kind.escapes && c === '\\') {
        if (!this.lineEndingBackslash()) out += this.escape();
        continue;
      }
      this.checkStringChar(c, true);
      if (this.startsWith('\r\n')) {
        out += '\n';
        this.i += 2;
        continue;
      }
      out += c;
      this.i++;
    }
  }

  /** At a backslash in a multi-line basic string: if it ends its line, skips it with the newline and the whitespace after. */
  private lineEndingBackslash(): boolean {
    let j = this.i + 1;
    while (this.src[j] === ' ' || this.src[j] === '\t') j++;
    if (this.src[j] !== '\n' && !(this.src[j] === '\r' && this.src[j + 1] === '\n')) return false;
    this.i = j;
    for (;;) {
      if (this.peek() === ' ' || this.peek() === '\t') this.i++;
      else if (!this.skipNewline()) return true;
    }
  }

  private array(): TomlValue[] {
    this.i++;
    const out: TomlValue[] = [];
    for (;;) {
      this.skipWsCommentsNewlines();
      if (this.peek() === ']') {
        this.i++;
        return out;
      }
      out.push(this.value());
      this.skipWsCommentsNewlines();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() === ']') {
        this.i++;
        return out;
      }
      this.error('toml::parse_array: missing array separator `,`', "expected ',' or ']'");
    }
  }

  private inlineTable(): TomlTable {
    this.i++;
    const t = new TomlTable('inline');
    this.skipWs();
    if (this.peek() === '}') {
      this.i++;
      return t;
    }
    for (;;) {
      this.skipWs();
      this.keyValue(t);
      this.skipWs();
      if (this.peek() === ',') {
        this.i++;
        continue;
      }
      if (this.peek() === '}') {
        this.i++;
        return t;
      }
      this.error('toml::parse_inline_table: missing inline table separator `,`', "expected ',' or '}'");
    }
  }

  // --- numbers ------------------------------------------------------------

  private number(): bigint | number {
    const start = this.i;
    const rest = this.src.slice(this.i);
    const special = /^[+-]?(inf|nan)(?![A-Za-z0-9_])/.exec(rest);
    if (special) {
      this.i += special[0].length;
      if (special[1] === 'inf') return special[0].startsWith('-') ? -Infinity : Infinity;
      return special[0].startsWith('-') ? -NaN : NaN;
    }
    const prefixed = /^0([xob])([0-9A-Za-z_]*)/.exec(rest);
    if (prefixed) {
      const digits = prefixed[2]!;
      if (!RADIX_DIGITS.get(prefixed[1]!)!.test(digits)) this.error('toml::parse_integer: invalid integer', 'invalid digits');
      this.i += prefixed[0].length;
      // BigInt reads the same 0x, 0o and 0b prefixes as TOML.
      const n = BigInt(`0${prefixed[1]}${digits.replaceAll('_', '')}`);
      if (n > INT64_MAX) this.error('toml::parse_integer: too large integer: current max value = 2^63', 'must be < 2^63', this.i);
      return n;
    }
    const m = /^[+-]?[0-9A-Za-z_.+-]*/.exec(rest)![0];
    // Decimal integer or float.
    const intRe = /^[+-]?(0|[1-9](_?[0-9])*)$/;
    const floatRe = /^[+-]?(0|[1-9](_?[0-9])*)(\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?$/;
    if (intRe.test(m)) {
      this.i += m.length;
      const n = BigInt(m.replaceAll('_', ''));
      if (n > INT64_MAX || n < INT64_MIN) {
        this.error('toml::parse_dec_integer: too large integer: current max digits = 2^63', 'must be < 2^63', this.i);
      }
      return n;
    }
    if (floatRe.test(m) && /[.eE]/.test(m)) {
      this.i += m.length;
      const f = Number(m.replaceAll('_', ''));
      // A C++ stream reading an overflowing literal stores the largest double.
      if (!Number.isFinite(f)) return f < 0 ? -Number.MAX_VALUE : Number.MAX_VALUE;
      return f;
    }
    this.i = start;
    this.error('toml::parse_value: unknown value appeared', 'here');
  }

  // --- dates and times ----------------------------------------------------

  private dateTime(): TomlDateTime | undefined {
    const rest = this.src.slice(this.i, this.i + 64);
    const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(rest);
    const timeRe = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?/;
    if (date) {
      let len = date[0].length;
      let text = date[0];
      checkDate(+date[1]!, +date[2]!, +date[3]!) || this.error('toml::parse_local_date: invalid date', 'here');
      const sep = rest[len];
      const t = sep === 'T' || sep === 't' || sep === ' ' ? timeRe.exec(rest.slice(len + 1)) : null;
      if (t) {
        len += 1 + t[0].length;
        text += 'T' + this.timeText(t);
        const off = /^(Z|z|[+-]\d{2}:\d{2})/.exec(rest.slice(len));
        if (off) {
          len += off[0].length;
          const o = off[0];
          if (o === 'Z' || o === 'z' || o === '+00:00' || o === '-00:00') text += 'Z';
          else text += o;
        }
      }
      this.i += len;
      return new TomlDateTime(text);
    }
    const t = timeRe.exec(rest);
    if (t) {
      this.i += t[0].length;
      return new TomlDateTime(this.timeText(t));
    }
    return undefined;
  }

  private timeText(t: RegExpExecArray): string {
    const h = +t[1]!;
    const mi = +t[2]!;
    const s = +t[3]!;
    if (h > 23 || mi > 59 || s > 60) this.error('toml::parse_local_time: invalid time', 'here');
    let text = `${t[1]}:${t[2]}:${t[3]}`;
    if (t[4]) {
      // toml11 keeps milli-, micro- and nanoseconds; precision shown is 3, 6 or 9 digits.
      const digits = (t[4].slice(1) + '000000000').slice(0, 9);
      const ms = digits.slice(0, 3);
      const us = digits.slice(3, 6);
      const ns = digits.slice(6, 9);
      if (ns !== '000') text += `.${ms}${us}${ns}`;
      else if (us !== '000') text += `.${ms}${us}`;
      else if (ms !== '000') text += `.${ms}`;
    }
    return text;
  }
}

function checkDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

/** Parses a TOML document; throws TomlError. */
export function parseToml(text: string): TomlTable {
  return new Parser(text).parse();
}
