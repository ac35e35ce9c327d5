import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/eval/json-parse.js';
import { decodeBytes, encodeBytes } from '../../src/byte-strings.js';
import { evalError, evalNix } from './eval-helpers.js';

const err = (s: string) => {
  try {
    parseJson(s);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('JSON parsing (fromJSON)', () => {
  it('keeps ints and floats apart', () => {
    expect(parseJson('[1, -10, 3.5, 1E2, -0]')).toEqual([1n, -10n, 3.5, 100, 0n]);
    expect(parseJson('18446744073709551616')).toBe(18446744073709551616);
    expect(parseJson('-9223372036854775809')).toBe(-9223372036854775809);
  });

  it('builds objects with the last duplicate winning', () => {
    const v = parseJson('{"a":1,"a":{"b":[true,false,null]}}') as Map<string, unknown>;
    expect(v.get('a')).toEqual(new Map([['b', [true, false, null]]]));
  });

  it('decodes escapes including surrogate pairs', () => {
    expect(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"')).toBe('"\\/\b\f\n\r\té😀');
  });

  it('rejects text that is not valid UTF-8 as the library does (messages as Nix 2.8 gives them)', () => {
    // Bytes that are not valid UTF-8 reach fromJSON through readFile (src/byte-strings.ts).
    const text = (...bytes: number[]) => decodeBytes(Buffer.from(bytes));
    const message = (t: string) => {
      try {
        parseJson(t);
      } catch (e) {
        return encodeBytes((e as Error).message).toString('latin1');
      }
      return 'parsed';
    };
    const error = (column: number, lastRead: string) =>
      `[json.exception.parse_error.101] parse error at line 1, column ${column}: syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: '${lastRead}'`;
    expect(message(text(0x22, 0x61, 0xff, 0x62, 0x22))).toBe(error(3, '"a\xff'));
    expect(message(text(0x22, 0xc3, 0x22))).toBe(error(3, '"\xc3"'));
    expect(message(text(0x22, 0xe0, 0x80, 0x80, 0x22))).toBe(error(3, '"\xe0\x80'));
    expect(message(text(0x22, 0xed, 0xa0, 0x80, 0x22))).toBe(error(3, '"\xed\xa0'));
    expect(parseJson(text(0x22, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80, 0x22))).toBe('é😀');
  });

  it('skips a byte-order mark at the very start only (messages as Nix 2.8 gives them)', () => {
    const text = (...bytes: number[]) => decodeBytes(Buffer.from(bytes));
    const message = (t: string) => {
      try {
        return JSON.stringify(parseJson(t), (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
      } catch (e) {
        return encodeBytes((e as Error).message).toString('latin1');
      }
    };
    const bom = [0xef, 0xbb, 0xbf];
    expect(message(text(...bom, 0x5b, 0x31, 0x5d))).toBe('[1]');
    // The mark counts in positions.
    expect(message(text(...bom, 0x5b, 0x31))).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 6: syntax error while parsing array - unexpected end of input; expected ']'",
    );
    expect(message(text(0xef, 0xbb, 0x5b, 0x31, 0x5d))).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error while parsing value - invalid BOM; must be 0xEF 0xBB 0xBF if given; last read: '\xef\xbb['",
    );
    expect(message(text(0x20, ...bom, 0x5b, 0x31, 0x5d))).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing value - invalid literal; last read: ' \xef'",
    );
    // U+FEFF in a Nix string is those three bytes.
    expect(evalNix('builtins.fromJSON "\u{feff}{}"')).toBe('{ }');
  });

  it('reports errors with nlohmann positions and excerpts', () => {
    expect(err('x')).toBe("[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - invalid literal; last read: 'x'");
    expect(err('[1] x')).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while parsing value - invalid literal; last read: '1] x'; expected end of input",
    );
    expect(err('{"a":1,}')).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 8: syntax error while parsing object key - unexpected '}'; expected string literal",
    );
    expect(err('"a\nb"')).toBe(
      "[json.exception.parse_error.101] parse error at line 2, column 0: syntax error while parsing value - invalid string: control character U+000A (LF) must be escaped to \\u000A or \\n; last read: '\"a<U+000A>'",
    );
    expect(err('1.5e400')).toBe("[json.exception.out_of_range.406] number overflow parsing '1.5e400'");
    expect(err('1.e3')).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 3: syntax error while parsing value - invalid number; expected digit after '.'; last read: '1.e'",
    );
  });

  it('rejects values Nix cannot represent', () => {
    expect(err('{"attr": 18446744073709551615}')).toBe('unsigned json number 18446744073709551615 outside of Nix integer range');
    expect(err('"a\\u0000b"')).toBe("input string 'a␀b' cannot be represented as Nix string because it contains null bytes");
    expect(err('{"a\\u0000b": 1}')).toBe("input string 'a␀b' cannot be represented as Nix string because it contains null bytes");
  });

  it('handles deep nesting without recursion', () => {
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    expect(Array.isArray(parseJson(deep))).toBe(true);
  });
});

describe('toJSON / fromJSON builtins', () => {
  it('sorts keys and formats numbers and strings as Nix 2.8', () => {
    expect(evalNix('builtins.toJSON { b = [ 1 2.5 null true ]; a = "x\\n\\"y\\""; c = 1.0e22; d = 100.0; }')).toBe(
      '"{\\"a\\":\\"x\\\\n\\\\\\"y\\\\\\"\\",\\"b\\":[1,2.5,null,true],\\"c\\":1e+22,\\"d\\":100}"',
    );
  });

  it('peels __toString and outPath and rejects functions', () => {
    expect(evalNix('builtins.toJSON { __toString = self: "won"; outPath = abort "no"; }')).toBe('"\\"won\\""');
    expect(evalNix('builtins.toJSON { outPath = { a = 1; }; }')).toBe('"{\\"a\\":1}"');
    expect(evalError('builtins.toJSON { __toString = self: 42; }')).toBe('`__toString` should return a string, but got an integer: 42');
    expect(evalError('builtins.toJSON (x: x)')).toBe('cannot convert a function to JSON');
  });


  it('writes big values whole (the text is joined in chunks of pieces)', () => {
    // 3,000 sets of ≈17 pieces each cross many chunk boundaries; the text
    // must equal JavaScript's own serialization of the same data.
    const n = 3000;
    const expected = JSON.stringify(Array.from({ length: n }, (_, i) => ({ a: i, b: `x"${i}`, c: [i, { d: null }] })));
    const src = `builtins.toJSON (builtins.genList (i: { c = [ i { d = null; } ]; b = "x\\"\${toString i}"; a = i; }) ${n})`;
    expect(JSON.parse(evalNix(src))).toBe(expected);
  });
  it('fromJSON builds Nix values and reports parse errors', () => {
    expect(evalNix('builtins.fromJSON "{\\"a\\": [1, 2.5, \\"x\\"]}"')).toBe('{ a = [ 1 2.5 "x" ]; }');
    expect(evalError('builtins.fromJSON "[1,"')).toBe(
      "[json.exception.parse_error.101] parse error at line 1, column 4: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal",
    );
  });
});

describe('empty JSON input', () => {
  it('is reported as Nix 2.8 reports it', () => {
    expect(() => parseJson('')).toThrow(
      "[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal",
    );
  });
});
