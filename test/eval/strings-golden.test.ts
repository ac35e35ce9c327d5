// Differential tests against answers recorded from Nix 2.8 (test/golden/eval-strings.json,
// scripts/record-golden-strings.mjs): random and hand-picked regular
// expressions for match/split, and string, version, hash, JSON, TOML and XML
// builtins; the regular expressions also live when the reference
// nix-instantiate is on PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { regexMatch, regexSplit, RegexSyntaxError } from '../../src/eval/regex/index.js';
import { evalNix } from './eval-helpers.js';

interface Golden {
  regex: { kind: 'match' | 'split'; pattern: string; subject: string; result: unknown }[];
  exprs: { expr: string; output: string }[];
}

const goldenFile = fileURLToPath(new URL('../golden/eval-strings.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Golden;
const referenceOnPath = spawnSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).stdout.trim() !== '';

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

  it.runIf(referenceOnPath)('on the same cases, live against the reference', () => {
    // The expression scripts/record-golden-strings.mjs records with.
    const expr = `map (c: builtins.\${c.kind} c.pattern c.subject) (builtins.fromJSON (builtins.readFile ${JSON.stringify(goldenFile)})).regex`;
    const env = { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '' };
    const answers = JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { encoding: 'utf8', env, maxBuffer: 1 << 26 })) as unknown[];
    const mismatches = golden.regex
      .map((c, i) => ({ ...c, reference: answers[i], got: ours(c.kind, c.pattern, c.subject) }))
      .filter((c) => JSON.stringify(c.got) !== JSON.stringify(c.reference));
    expect(answers).toHaveLength(golden.regex.length);
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
