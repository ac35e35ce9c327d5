// JSON text → a plain tree, as builtins.fromJSON sees it. Nix parses with
// nlohmann::json, so the number rules and every error message (with its
// line/column and "last read" excerpt) follow that library:
//
//   - integers without '.', 'e' or 'E' are ints; a negative one that does not
//     fit 64 bits, or a positive one beyond 2^64-1, becomes a float; a
//     positive one in (2^63-1, 2^64-1] is an error;
//   - floats that overflow to infinity are an error (out_of_range.406);
//   - strings may not contain raw control characters; NUL (\u0000) makes an
//     error because Nix strings cannot hold it;
//   - duplicate keys: the last one wins.
//
// The parser works on the UTF-8 bytes of the text, as nlohmann does, so
// columns count bytes.

import { EvalError } from './errors.js';
import { decodeBytes, encodeBytes, utf8Continues, utf8Lead } from '../byte-strings.js';

export type JsonValue = null | boolean | bigint | number | string | JsonValue[] | Map<string, JsonValue>;

/** A malformed document; Nix adds "while decoding a JSON string" to these only. */
export class JSONParseError extends EvalError {}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

const enum Tok {
  Uninitialized,
  True,
  False,
  Null,
  String,
  Unsigned,
  Integer,
  Float,
  BeginArray,
  BeginObject,
  EndArray,
  EndObject,
  NameSeparator,
  ValueSeparator,
  ParseError,
  EndOfInput,
  LiteralOrValue,
}

function tokenName(t: Tok): string {
  switch (t) {
    case Tok.Uninitialized:
      return '<uninitialized>';
    case Tok.True:
      return 'true literal';
    case Tok.False:
      return 'false literal';
    case Tok.Null:
      return 'null literal';
    case Tok.String:
      return 'string literal';
    case Tok.Unsigned:
    case Tok.Integer:
    case Tok.Float:
      return 'number literal';
    case Tok.BeginArray:
      return "'['";
    case Tok.BeginObject:
      return "'{'";
    case Tok.EndArray:
      return "']'";
    case Tok.EndObject:
      return "'}'";
    case Tok.NameSeparator:
      return "':'";
    case Tok.ValueSeparator:
      return "','";
    case Tok.ParseError:
      return '<parse error>';
    case Tok.EndOfInput:
      return 'end of input';
    case Tok.LiteralOrValue:
      return "'[', '{', or a literal";
  }
}

const CONTROL_NAMES = [
  'NUL', 'SOH', 'STX', 'ETX', 'EOT', 'ENQ', 'ACK', 'BEL', 'BS', 'HT', 'LF', 'VT', 'FF', 'CR', 'SO', 'SI',
  'DLE', 'DC1', 'DC2', 'DC3', 'DC4', 'NAK', 'SYN', 'ETB', 'CAN', 'EM', 'SUB', 'ESC', 'FS', 'GS', 'RS', 'US',
];
const SHORT_ESCAPES: Record<number, string> = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r' };

function controlMessage(c: number): string {
  const hex = c.toString(16).toUpperCase().padStart(4, '0');
  const short = SHORT_ESCAPES[c];
  return `invalid string: control character U+${hex} (${CONTROL_NAMES[c]}) must be escaped to \\u${hex}${short ? ` or \\${short}` : ''}`;
}

const EOF = -1;

class Lexer {
  private i = 0;
  current = EOF;
  private nextUnget = false;
  charsReadTotal = 0;
  charsReadCurrentLine = 0;
  linesRead = 0;
  /** Bytes read since the last string/number token began (nlohmann's token_string). */
  private tokenBytes: number[] = [];
  errorMessage = '';
  /** Decoded value of the last string token. */
  stringValue = '';
  numberText = '';

  constructor(private readonly bytes: Uint8Array) {}

  private get(): number {
    this.charsReadTotal++;
    this.charsReadCurrentLine++;
    if (this.nextUnget) this.nextUnget = false;
    else this.current = this.i < this.bytes.length ? this.bytes[this.i++]! : EOF;
    if (this.current !== EOF) this.tokenBytes.push(this.current);
    if (this.current === 0x0a) {
      this.linesRead++;
      this.charsReadCurrentLine = 0;
    }
    return this.current;
  }

  private unget(): void {
    this.nextUnget = true;
    this.charsReadTotal--;
    if (this.charsReadCurrentLine === 0) {
      if (this.linesRead > 0) this.linesRead--;
    } else this.charsReadCurrentLine--;
    if (this.current !== EOF) this.tokenBytes.pop();
  }

  /** False for a broken mark (0xEF not followed by 0xBB 0xBF). */
  private skipBom(): boolean {
    if (this.get() === 0xef) return this.get() === 0xbb && this.get() === 0xbf;
    this.unget();
    return true;
  }

  private reset(): void {
    this.tokenBytes = [];
    if (this.current !== EOF) this.tokenBytes.push(this.current);
  }

  tokenString(): string {
    let s = '';
    for (const b of this.tokenBytes) {
      if (b <= 0x1f) s += `<U+${b.toString(16).toUpperCase().padStart(4, '0')}>`;
      else s += String.fromCharCode(b);
    }
    // Bytes ≥ 0x80 are UTF-8 sequences of the original text (or bytes that
    // are not valid UTF-8, kept as such); show them as text.
    return decodeBytes(Buffer.from(s, 'latin1'));
  }

  position(): string {
    return `line ${this.linesRead + 1}, column ${this.charsReadCurrentLine}`;
  }

  scan(): Tok {
    // A byte-order mark is skipped at the very start (only there), as nlohmann's lexer does.
    if (this.charsReadTotal === 0 && !this.skipBom()) {
      this.errorMessage = 'invalid BOM; must be 0xEF 0xBB 0xBF if given';
      return Tok.ParseError;
    }
    do this.get();
    while (this.current === 0x20 || this.current === 0x09 || this.current === 0x0a || this.current === 0x0d);
    switch (this.current) {
      case 0x5b:
        return Tok.BeginArray;
      case 0x5d:
        return Tok.EndArray;
      case 0x7b:
        return Tok.BeginObject;
      case 0x7d:
        return Tok.EndObject;
      case 0x3a:
        return Tok.NameSeparator;
      case 0x2c:
        return Tok.ValueSeparator;
      case 0x74:
        return this.literal('true', Tok.True);
      case 0x66:
        return this.literal('false', Tok.False);
      case 0x6e:
        return this.literal('null', Tok.Null);
      case 0x22:
        return this.scanString();
      case 0x2d:
      case 0x30:
      case 0x31:
      case 0x32:
      case 0x33:
      case 0x34:
      case 0x35:
      case 0x36:
      case 0x37:
      case 0x38:
      case 0x39:
        return this.scanNumber();
      case 0x00:
      case EOF:
        return Tok.EndOfInput;
      default:
        this.errorMessage = 'invalid literal';
        return Tok.ParseError;
    }
  }

  private literal(text: string, t: Tok): Tok {
    for (let k = 1; k < text.length; k++) {
      if (this.get() !== text.charCodeAt(k)) {
        this.errorMessage = 'invalid literal';
        return Tok.ParseError;
      }
    }
    return t;
  }

  private hex4(): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.get();
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else return -1;
      v = v * 16 + d;
    }
    return v;
  }

  private scanString(): Tok {
    this.reset();
    const out: number[] = [];
    const pushCodePoint = (cp: number) => {
      const s = Buffer.from(String.fromCodePoint(cp), 'utf8');
      for (const b of s) out.push(b);
    };
    for (;;) {
      const c = this.get();
      if (c === EOF) {
        this.errorMessage = 'invalid string: missing closing quote';
        return Tok.ParseError;
      }
      if (c === 0x22) {
        this.stringValue = Buffer.from(out).toString('utf8');
        return Tok.String;
      }
      if (c === 0x5c) {
        const e = this.get();
        switch (e) {
          case 0x22:
            out.push(0x22);
            break;
          case 0x5c:
            out.push(0x5c);
            break;
          case 0x2f:
            out.push(0x2f);
            break;
          case 0x62:
            out.push(0x08);
            break;
          case 0x66:
            out.push(0x0c);
            break;
          case 0x6e:
            out.push(0x0a);
            break;
          case 0x72:
            out.push(0x0d);
            break;
          case 0x74:
            out.push(0x09);
            break;
          case 0x75: {
            const cp1 = this.hex4();
            if (cp1 === -1) {
              this.errorMessage = "invalid string: '\\u' must be followed by 4 hex digits";
              return Tok.ParseError;
            }
            let cp = cp1;
            if (cp1 >= 0xd800 && cp1 <= 0xdbff) {
              if (this.get() === 0x5c && this.get() === 0x75) {
                const cp2 = this.hex4();
                if (cp2 === -1) {
                  this.errorMessage = "invalid string: '\\u' must be followed by 4 hex digits";
                  return Tok.ParseError;
                }
                if (cp2 >= 0xdc00 && cp2 <= 0xdfff) {
                  cp = 0x10000 + ((cp1 - 0xd800) << 10) + (cp2 - 0xdc00);
                } else {
                  this.errorMessage = 'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF';
                  return Tok.ParseError;
                }
              } else {
                this.errorMessage = 'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF';
                return Tok.ParseError;
              }
            } else if (cp1 >= 0xdc00 && cp1 <= 0xdfff) {
              this.errorMessage = 'invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF';
              return Tok.ParseError;
            }
            pushCodePoint(cp);
            break;
          }
          default:
            this.errorMessage = 'invalid string: forbidden character after backslash';
            return Tok.ParseError;
        }
        continue;
      }
      if (c <= 0x1f) {
        this.errorMessage = controlMessage(c);
        return Tok.ParseError;
      }
      if (c >= 0x80) {
        // A multi-byte character, checked as the library checks it (the
        // text may hold bytes that are not valid UTF-8, byte-strings.ts).
        const lead = utf8Lead(c);
        if (lead < 0) return this.illFormed();
        out.push(c);
        for (let k = 1; k <= (lead & 0xff); k++) {
          const d = this.get();
          if (d === EOF || !utf8Continues(lead, k, d)) return this.illFormed();
          out.push(d);
        }
        continue;
      }
      out.push(c);
    }
  }

  private illFormed(): Tok {
    this.errorMessage = 'invalid string: ill-formed UTF-8 byte';
    return Tok.ParseError;
  }

  private scanNumber(): Tok {
    this.reset();
    let isFloat = false;
    let c = this.current;
    const digit = (x: number) => x >= 0x30 && x <= 0x39;
    if (c === 0x2d) {
      c = this.get();
      if (!digit(c)) {
        this.errorMessage = "invalid number; expected digit after '-'";
        return Tok.ParseError;
      }
    }
    if (c === 0x30) {
      c = this.get();
    } else {
      do c = this.get();
      while (digit(c));
    }
    if (c === 0x2e) {
      isFloat = true;
      c = this.get();
      if (!digit(c)) {
        this.errorMessage = "invalid number; expected digit after '.'";
        return Tok.ParseError;
      }
      do c = this.get();
      while (digit(c));
    }
    if (c === 0x65 || c === 0x45) {
      isFloat = true;
      c = this.get();
      if (c === 0x2b || c === 0x2d) {
        c = this.get();
        if (!digit(c)) {
          this.errorMessage = 'invalid number; expected digit after exponent sign';
          return Tok.ParseError;
        }
      } else if (!digit(c)) {
        this.errorMessage = "invalid number; expected '+', '-', or digit after exponent";
        return Tok.ParseError;
      }
      do c = this.get();
      while (digit(c));
    }
    this.unget();
    this.numberText = String.fromCharCode(...this.tokenBytes);
    if (isFloat) return Tok.Float;
    return this.numberText.startsWith('-') ? Tok.Integer : Tok.Unsigned;
  }
}

/** How containers are built; the default builds JsonValue (Map for objects). */
export interface JsonBuilders<T> {
  array(items: T[]): T;
  object(entries: Map<string, T>): T;
  /** How numbers are represented; by default integers are bigints and floats numbers. */
  int?(n: bigint): T;
  float?(x: number): T;
}

const plainBuilders: JsonBuilders<JsonValue> = { array: (xs) => xs, object: (m) => m };

/** Parses JSON text; throws JSONParseError (syntax) or EvalError (values Nix cannot hold). */
export function parseJson(text: string): JsonValue;
export function parseJson<T>(text: string, build: JsonBuilders<T | null | boolean | string>): T | null | boolean | string;
export function parseJson(text: string, build: JsonBuilders<unknown> = plainBuilders as JsonBuilders<unknown>): unknown {
  const lexer = new Lexer(encodeBytes(text));
  let token = Tok.Uninitialized;
  const next = () => (token = lexer.scan());
  // Read through a call: TypeScript would otherwise keep narrowings across next().
  const cur = (): Tok => token;

  const fail = (expected: Tok, context: string): never => {
    let msg = `syntax error while parsing ${context} - `;
    if (token === Tok.ParseError) msg += `${lexer.errorMessage}; last read: '${lexer.tokenString()}'`;
    else msg += `unexpected ${tokenName(token)}`;
    if (expected !== Tok.Uninitialized) msg += `; expected ${tokenName(expected)}`;
    throw new JSONParseError(`[json.exception.parse_error.101] parse error at ${lexer.position()}: ${msg}`);
  };

  const noNul = (s: string): string => {
    if (s.includes('\0')) {
      throw new EvalError(
        `input string '${s.replaceAll('\0', '␀')}' cannot be represented as Nix string because it contains null bytes`,
      );
    }
    return s;
  };

  // Iterative over nesting, so deep documents cannot overflow the JS stack.
  type Frame = { kind: 'array'; items: unknown[] } | { kind: 'object'; map: Map<string, unknown>; key: string };
  const stack: Frame[] = [];

  // Integers too large for 64 bits are read as floats, like any float token.
  const overflowingFloat = (): unknown => {
    const f = Number(lexer.numberText);
    if (!Number.isFinite(f)) {
      throw new JSONParseError(`[json.exception.out_of_range.406] number overflow parsing '${lexer.tokenString()}'`);
    }
    return build.float ? build.float(f) : f;
  };
  const int = (n: bigint): unknown => (build.int ? build.int(n) : n);

  const scalar = (): unknown => {
    switch (token) {
      case Tok.True:
        return true;
      case Tok.False:
        return false;
      case Tok.Null:
        return null;
      case Tok.String:
        return noNul(lexer.stringValue);
      case Tok.Unsigned: {
        const n = BigInt(lexer.numberText);
        if (n > UINT64_MAX) return overflowingFloat();
        if (n > INT64_MAX) throw new EvalError(`unsigned json number ${n} outside of Nix integer range`);
        return int(n);
      }
      case Tok.Integer: {
        const n = BigInt(lexer.numberText);
        if (n < INT64_MIN) return overflowingFloat();
        return int(n);
      }
      case Tok.Float:
        return overflowingFloat();
      case Tok.ParseError:
        return fail(Tok.Uninitialized, 'value');
      case Tok.EndOfInput:
        // (Newer nlohmann versions say "attempting to parse an empty input"
        // for ""; Nix 2.8's reports it like any other early end.)
        return fail(Tok.LiteralOrValue, 'value');
      default:
        return fail(Tok.LiteralOrValue, 'value');
    }
  };

  let result: unknown = null;
  next();
  for (;;) {
    // Parse one value starting at `token`.
    let value: unknown;
    if (cur() === Tok.BeginObject) {
      next();
      if (cur() === Tok.EndObject) value = build.object(new Map());
      else {
        if (cur() !== Tok.String) fail(Tok.String, 'object key');
        const key = noNul(lexer.stringValue);
        next();
        if (cur() !== Tok.NameSeparator) fail(Tok.NameSeparator, 'object separator');
        stack.push({ kind: 'object', map: new Map(), key });
        next();
        continue;
      }
    } else if (cur() === Tok.BeginArray) {
      next();
      if (cur() === Tok.EndArray) value = build.array([]);
      else {
        stack.push({ kind: 'array', items: [] });
        continue;
      }
    } else {
      value = scalar();
    }

    // Attach the finished value to its container; close containers that end.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        result = value;
        break;
      }
      if (top.kind === 'array') {
        top.items.push(value);
        next();
        if (cur() === Tok.ValueSeparator) {
          next();
          value = undefined;
          break;
        }
        if (cur() !== Tok.EndArray) fail(Tok.EndArray, 'array');
        stack.pop();
        value = build.array(top.items);
      } else {
        top.map.set(top.key, value);
        next();
        if (cur() === Tok.ValueSeparator) {
          next();
          if (cur() !== Tok.String) fail(Tok.String, 'object key');
          top.key = noNul(lexer.stringValue);
          next();
          if (cur() !== Tok.NameSeparator) fail(Tok.NameSeparator, 'object separator');
          next();
          value = undefined;
          break;
        }
        if (cur() !== Tok.EndObject) fail(Tok.EndObject, 'object');
        stack.pop();
        value = build.object(top.map);
      }
    }
    if (stack.length === 0) break;
  }

  if (next() !== Tok.EndOfInput) fail(Tok.EndOfInput, 'value');
  return result;
}
