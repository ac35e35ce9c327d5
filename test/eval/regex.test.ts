import { describe, expect, it } from 'vitest';
import { regexMatch, regexSplit, RegexSyntaxError, regexErrorMessage } from '../../src/eval/regex/index.js';
import { compileEre, parseEre } from '../../src/eval/regex/ere-compile.js';
import { execEre } from '../../src/eval/regex/ere-exec.js';
import { jsExactRegex, jsSearchRegex } from '../../src/eval/regex/ere-to-js.js';

// Expected values were taken from Nix 2.8 (libstdc++ std::regex::extended).
describe('builtins.match semantics', () => {
  it('requires a full match and returns the groups', () => {
    expect(regexMatch('(.*)\\.nix', 'foobar.nix')).toEqual(['foobar']);
    expect(regexMatch('fo*', 'foobar')).toBeNull();
    expect(regexMatch('((.*)/)?([^/]*)\\.(nix|cc)', 'foobar.cc')).toEqual([null, null, 'foobar', 'cc']);
  });

  it('supports POSIX classes, `]` first in brackets and literal backslashes in brackets', () => {
    expect(regexMatch('[[:space:]]+([[:upper:]]+)[[:space:]]+', '  FOO   ')).toEqual(['FOO']);
    expect(regexMatch('[]a]+', ']a')).toEqual([]);
    expect(regexMatch('[^]a]+', 'bc')).toEqual([]);
    expect(regexMatch('[\\w]+', 'w\\')).toEqual([]);
    expect(regexMatch('[a-]+', 'a-')).toEqual([]);
    expect(regexMatch('[[.hyphen.]]', '-')).toEqual([]);
  });

  it("reads dashes, collating symbols and equivalence classes in brackets as libstdc++ does", () => {
    const invalid = (re: string) => expect(() => regexMatch(re, '-'), re).toThrow(RegexSyntaxError);
    // A dash may end a range (`x--`), and a leading dash may start one.
    expect(regexMatch('[!--]', '-')).toEqual([]);
    expect(regexMatch('[--a]', 'A')).toEqual([]);
    expect(regexMatch('[^--a]', 'b')).toEqual([]);
    expect(regexMatch('[---]', '-')).toEqual([]);
    invalid('[a--]');
    invalid('[a-c-e]');
    // Collating names are libstdc++'s table: letters are their own names, other characters are not.
    expect(regexMatch('[[.a.][.zero.][.IS1.]]+', 'a0\x1f')).toEqual([]);
    for (const re of ['[[.-.]]', '[[.1.]]', '[[.full-stop.]]', '[[.hyphen-minus.]]', '[[.left-brace.]]']) invalid(re);
    // A collating symbol starts a range but cannot end one.
    expect(regexMatch('[[.a.]-c]', 'b')).toEqual([]);
    invalid('[a-[.c.]]');
    // An equivalence class ignores case, and is a class: no range from it.
    expect(regexMatch('[[=a=]]+', 'aA')).toEqual([]);
    expect(regexMatch('[[=zero=]]', '0')).toEqual([]);
    expect(regexMatch('[[=a=]-]', '-')).toEqual([]);
    invalid('[[=a=]-c]');
    invalid('[[:alpha:]-z]');
  });

  it('treats `]`, `}` as ordinary characters and `.` as matching newlines', () => {
    expect(regexMatch('x}', 'x}')).toEqual([]);
    expect(regexMatch(']', ']')).toEqual([]);
    expect(regexMatch('(.)', '\n')).toEqual(['\n']);
  });

  it('keeps captures from earlier loop iterations like libstdc++', () => {
    expect(regexMatch('(a|(b))+', 'ba')).toEqual(['a', 'b']);
    expect(regexMatch('(a|b)*c|(a|ab)*c', 'abc')).toEqual(['b', null]);
    expect(regexMatch('(x){0}', '')).toEqual([null]);
    expect(regexMatch('(a*)*', '')).toEqual(['']);
  });

  it('matches bytes, not characters', () => {
    expect(regexMatch('(.)', 'é')).toBeNull();
    expect(regexMatch('(..)', 'é')).toEqual(['é']);
  });

  it('rejects what std::regex rejects', () => {
    for (const bad of ['(.*', 'a{,2}', '\\d', '(?:a)', 'a{1', '{', '*a', '^*', '[z-a]', '[[:foo:]]', '[a-c-e]', '\\]', 'a\\', '[]']) {
      expect(() => regexMatch(bad, 'x'), bad).toThrow(RegexSyntaxError);
    }
    try {
      regexMatch('f(o*o', '');
    } catch (e) {
      expect(regexErrorMessage(e as RegexSyntaxError, 'f(o*o')).toBe("invalid regular expression 'f(o*o'");
    }
  });
});

describe('builtins.split semantics', () => {
  it('interleaves unmatched text and group lists', () => {
    expect(regexSplit('(a)|(c)', 'abc')).toEqual(['', ['a', null], 'b', [null, 'c'], '']);
    expect(regexSplit('(o+)', 'oooofoooo')).toEqual(['', ['oooo'], 'f', ['oooo'], '']);
    expect(regexSplit('fo+', 'f')).toBeNull();
  });

  it('picks the longest alternative (POSIX), unlike JavaScript', () => {
    expect(regexSplit('a|ab', 'abc')).toEqual(['', [], 'c']);
  });

  it('handles empty matches as std::regex_iterator does', () => {
    expect(regexSplit('a*', 'baaac')).toEqual(['', [], 'b', [], '', [], 'c', [], '']);
    expect(regexSplit('', 'ab')).toEqual(['', [], 'a', [], 'b', [], '']);
    expect(regexSplit('x*', '')).toEqual(['', [], '']);
    expect(regexSplit('(a*)*', 'ab')).toEqual(['', [''], '', [''], 'b', [''], '']);
  });

  it('does not let ^ match after the first position', () => {
    expect(regexSplit('^a', 'aaa')).toEqual(['', [], 'aa']);
  });

  it('survives long subjects without a stack overflow', () => {
    const s = 'x'.repeat(200000);
    expect(regexMatch('(.*)', s)).toEqual([s]);
  });
});

describe('nested loops that match the same text in many ways', () => {
  const a = (n: number) => 'a'.repeat(n);

  it('fail at once where no match exists (libstdc++ explores every path: minutes for thirty a\'s)', () => {
    expect(regexMatch('(a*)*b', a(40))).toBeNull();
    expect(regexSplit('(a*)*b', a(40))).toBeNull();
    expect(regexMatch('((a*)*b)*c', `${a(30)}b${a(3)}b`)).toBeNull();
    // This one takes the JavaScript fast path (V8's backtracking is
    // exponential here too, until it falls back to its linear engine).
    expect(regexMatch('(x+x+)+y', 'x'.repeat(40))).toBeNull();
    expect(regexSplit('(x+x+)+y', 'x'.repeat(40))).toBeNull();
  });

  it('give the matches libstdc++ gives when one exists, after failing attempts', () => {
    // Recorded from Nix 2.8 (13 s there for these).
    expect(regexMatch('(a*)*b', `${a(20)}b`)).toEqual(['']);
    expect(regexSplit('(a*)*b', `${a(16)} c b ${a(3)}b`)).toEqual([`${a(16)} c `, [''], ' ', [''], '']);
    expect(regexMatch('((a|aa)*)*(b|c)', `${a(18)}c`)).toEqual(['', 'a', 'c']);
    expect(regexMatch('(a*)*(a*)*x', a(14))).toBeNull();
    expect(regexSplit('(a|b*)*c', `${a(12)}ab${a(5)}c${a(12)}`)).toEqual(['', [''], a(12)]);
    expect(regexMatch('(((a*)*)*)', a(12))).toEqual([a(12), '', '']);
    expect(regexSplit('(x+x+)+y', `${'x'.repeat(16)}y${'x'.repeat(14)}`)).toEqual(['', ['x'.repeat(16)], 'x'.repeat(14)]);
    expect(regexMatch('^(a*)*$', a(20))).toEqual(['']);
    expect(regexMatch('(a*)*b|(a)', a(14))).toBeNull();
  });
});

describe('JavaScript RegExp fast path', () => {
  // Both paths must give the same answers; the engine is the reference.
  const engineMatch = (p: string, s: string) => {
    const prog = compileEre(p);
    const caps = execEre(prog, s, 0, { exact: true, notNull: false, continuous: false, prevAvail: false });
    if (caps === null) return null;
    const out: (string | null)[] = [];
    for (let g = 1; 2 * g < caps.length; g++) out.push(caps[2 * g]! < 0 ? null : s.slice(caps[2 * g]!, caps[2 * g + 1]!));
    return out;
  };

  it('is used for typical nixpkgs patterns and agrees with the engine', () => {
    const cases: [string, string][] = [
      ['mirror://([a-z]+)/(.*)', 'mirror://gnu/m4/m4-1.4.19.tar.bz2'],
      ['^(@([^/]+)/)?([^/]+)$', 'draupnir'],
      ['(.+)+(.+)', '17.0.14+7'],
      ['[[:alpha:]_][[:alnum:]_]*(\\.[[:alpha:]_][[:alnum:]_]*)*', 'a.b_c.d'],
      ['git\\+([^?]+)(\\?(rev|tag|branch)=(.*))?#(.*)', 'git+https://x/y.git#abc'],
      ['^(#.*|$)', ''],
    ];
    for (const [p, s] of cases) {
      expect(jsExactRegex(parseEre(p).ast), p).not.toBeNull();
      expect(regexMatch(p, s), p).toEqual(engineMatch(p, s));
    }
  });

  it('is not used where JavaScript semantics differ', () => {
    expect(jsExactRegex(parseEre('(a?|b)*(b?)(b?)').ast)).toBeNull(); // nullable loop body
    expect(jsExactRegex(parseEre('((a)|b)+').ast)).toBeNull(); // optional group inside a loop
    expect(jsSearchRegex(parseEre('a|ab').ast)).toBeNull(); // POSIX longest alternative
    expect(regexMatch('(a?|b)*(b?)(b?)', 'b')).toEqual(engineMatch('(a?|b)*(b?)(b?)', 'b'));
  });
});

describe('automaton size limit', () => {
  it("refuses patterns exactly where libstdc++'s 100000-state limit does", () => {
    const kind = (p: string) => {
      try {
        regexMatch(p, 'a');
        return 'ok';
      } catch (e) {
        return (e as RegexSyntaxError).kind;
      }
    };
    expect(kind('a{99993}')).toBe('ok');
    expect(kind('a{99994}')).toBe('space');
    expect(kind('(a){24997}')).toBe('ok');
    expect(kind('(a){24998}')).toBe('space');
    expect(kind('a{1,49997}')).toBe('ok');
    expect(kind('a{1,49998}')).toBe('space');
    // Counts are read into a C int, so huge ones wrap around.
    expect(kind('a{0,2147483648}')).toBe('invalid');
    expect(kind('a{4294967297}')).toBe('ok');
    expect(regexErrorMessage(new RegexSyntaxError('space'), 'a{99994}')).toBe("memory limit exceeded by regular expression 'a{99994}'");
  });
});

describe('non-ASCII subjects', () => {
  it('are matched as UTF-8 bytes on both paths', () => {
    expect(jsExactRegex(parseEre('(.)(.*)x').ast)).not.toBeNull();
    expect(regexMatch('(..)(.*)x', 'éax')).toEqual(['é', 'a']);
    expect(regexMatch('([^a]+)a', 'üüa')).toEqual(['üü']);
    expect(regexSplit('(a)', 'éaü')).toEqual(['é', ['a'], 'ü']);
    expect(regexMatch('[[:alpha:]]+', 'é')).toBeNull();
  });
});
