import { describe, expect, it } from 'vitest';
import { parseToml, TomlDateTime, TomlTable } from '../../src/eval/toml.js';
import { decodeBytes } from '../../src/byte-strings.js';
import { evalError, evalNix, newState } from './eval-helpers.js';

function plain(v: unknown): unknown {
  if (v instanceof TomlTable) return Object.fromEntries([...v.map].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof TomlDateTime) return { timestamp: v.text };
  return v;
}

const err = (s: string) => {
  try {
    parseToml(s);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('TOML parsing (fromTOML)', () => {
  it('parses scalars, dotted keys, tables and arrays of tables', () => {
    const doc = `
a = 1_000
b.c = "x\\u00E9"
'lit' = 'C:\\path'
f = [ 6.626e-34, -2E-2, +1.0, 0xdead_beef, 0o755, 0b1101 ]
[t.u]
v = true
[[arr]]
n = 1
[[arr]]
[arr.sub]
k = { x = 1, y.z = 2 }
`;
    expect(plain(parseToml(doc))).toEqual({
      a: 1000n,
      b: { c: 'xé' },
      lit: 'C:\\path',
      f: [6.626e-34, -0.02, 1, 3735928559n, 493n, 13n],
      t: { u: { v: true } },
      arr: [{ n: 1n }, { sub: { k: { x: 1n, y: { z: 2n } } } }],
    });
  });

  it('handles multi-line strings with line-ending backslashes', () => {
    expect(plain(parseToml('s = """\nab \\\n   cd"""\nl = \'\'\'\nraw \\n\'\'\''))).toEqual({ s: 'ab cd', l: 'raw \\n' });
  });

  it('keeps dates and times in toml11 canonical form', () => {
    const t = plain(parseToml('a = 1979-05-27 07:32:00.1Z\nb = 1979-05-27t00:32:00.1234567891\nc = 07:32:00\nd = 1979-05-27\ne = 1979-05-27T00:32:00-07:00'));
    expect(t).toEqual({
      a: { timestamp: '1979-05-27T07:32:00.100Z' },
      b: { timestamp: '1979-05-27T00:32:00.123456789' },
      c: { timestamp: '07:32:00' },
      d: { timestamp: '1979-05-27' },
      e: { timestamp: '1979-05-27T00:32:00-07:00' },
    });
  });

  it('reports integer overflow as toml11 does', () => {
    expect(err('attr = 9223372036854775808')).toBe(
      '[error] toml::parse_dec_integer: too large integer: current max digits = 2^63\n --> fromTOML\n   |\n 1 | attr = 9223372036854775808\n   |                           ^-- must be < 2^63\n',
    );
    expect(err('attr = -9223372036854775808')).toBe('no error');
  });

  it('rejects redefinitions', () => {
    expect(err('a = 1\na = 2')).not.toBe('no error');
    expect(err('[t]\n[t]')).not.toBe('no error');
    expect(err('[f]\napple.color = 1\n[f.apple]')).not.toBe('no error');
    expect(err('a = [1]\n[[a]]')).not.toBe('no error');
    expect(err('x = {a = 1}\n[x.b]')).not.toBe('no error');
    expect(err('[a.b]\n[a]\nc = 1')).toBe('no error');
  });
});

describe('fromTOML builtin', () => {
  it('returns Nix values and gates timestamps behind the experimental feature', () => {
    expect(evalNix('builtins.fromTOML "a = 1\\nb = [1, {c = 2}]"')).toBe('{ a = 1; b = [ 1 { c = 2; } ]; }');
    expect(evalError('builtins.fromTOML "x = 1979-05-27"')).toBe('while parsing TOML: Dates and times are not supported');
    expect(evalNix('builtins.fromTOML "x = 1979-05-27"', newState({ experimentalFeatures: ['parse-toml-timestamps'] }))).toBe(
      '{ x = { _type = "timestamp"; value = "1979-05-27"; }; }',
    );
    expect(evalError('builtins.fromTOML "k = \\"a\\\\u0000b\\""')).toBe(
      "while parsing TOML: error: input string 'a␀b' cannot be represented as Nix string because it contains null bytes",
    );
  });
});

describe('fromTOML errors as Nix renders them', () => {
  it('rejects a document that is not valid UTF-8 where the bad byte stands', () => {
    const doc = decodeBytes(Buffer.from([...Buffer.from('a = "x'), 0xff, ...Buffer.from('y"')]));
    expect(() => parseToml(doc)).toThrow(/toml::parse: invalid utf8 sequence found[^]*1 \| a = "x.y"\n *\| {7}\^-- here/);
    // A character above U+FFFF is not mistaken for one (its second UTF-16 unit can look like a raw byte).
    expect((parseToml('a = "\u{10080}"') as TomlTable).map.get('a')).toBe('\u{10080}');
  });


  it('keeps the indented last line of a toml11 message', async () => {
    const { renderError } = await import('../../src/eval/error-format.js');
    const { EvalError } = await import('../../src/eval/errors.js');
    const msg = evalError('builtins.fromTOML "attr = 9223372036854775808"');
    expect(renderError(new EvalError(msg), { showTrace: false })).toBe(
      [
        'error: while parsing TOML: [error] toml::parse_dec_integer: too large integer: current max digits = 2^63',
        '        --> fromTOML',
        '          |',
        '        1 | attr = 9223372036854775808',
        '          |                           ^-- must be < 2^63',
        '       ',
      ].join('\n'),
    );
  });
});

describe('TOML floats', () => {
  it('clamps overflowing literals to the largest double as Nix 2.8 does', () => {
    expect(plain(parseToml('a = 1e400\nb = -1e400'))).toEqual({ a: Number.MAX_VALUE, b: -Number.MAX_VALUE });
  });
});
