// Differential tests against answers recorded from Nix 2.8 (test/golden/eval-strings.json):
// random and hand-picked regular expressions for match/split, and string,
// version, hash, JSON, TOML and XML builtins.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { regexMatch, regexSplit, RegexSyntaxError } from '../../src/eval/regex/index.js';
import { evalNix } from './eval-helpers.js';

interface Golden {
  regex: { kind: 'match' | 'split'; pattern: string; subject: string; result: unknown }[];
  exprs: { expr: string; output: string }[];
}

const golden = JSON.parse(readFileSync(new URL('../golden/eval-strings.json', import.meta.url), 'utf8')) as Golden;

function ours(kind: 'match' | 'split', pattern: string, subject: string): unknown {
  try {
    return kind === 'match' ? regexMatch(pattern, subject) : (regexSplit(pattern, subject) ?? [subject]);
  } catch (e) {
    if (e instanceof RegexSyntaxError) return 'error';
    throw e;
  }
}

describe('regular expressions agree with Nix 2.8', () => {
  it(`on ${golden.regex.length} recorded cases`, () => {
    const mismatches = golden.regex
      .map((c) => ({ ...c, got: ours(c.kind, c.pattern, c.subject) }))
      .filter((c) => JSON.stringify(c.got) !== JSON.stringify(c.result));
    expect(mismatches).toEqual([]);
  });
});

describe('string builtins agree with Nix 2.8', () => {
  for (const { expr, output } of golden.exprs) {
    it(expr.length > 70 ? `${expr.slice(0, 70)}…` : expr, () => {
      expect(evalNix(expr)).toBe(output);
    });
  }
});
