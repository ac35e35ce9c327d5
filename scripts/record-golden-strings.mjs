#!/usr/bin/env node
// Records what the reference Nix (nix-instantiate on PATH) answers for the
// string cases of test/golden/eval-strings.json, as facts for
// test/eval/strings-golden.test.ts: the match/split cases (random and
// hand-picked POSIX regular expressions, each with a subject) and the
// expressions (versions, hashes, JSON, TOML, XML builtins). The inputs are
// the cases already in the file; add a case there (any result) and run
// this to record its answer.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'test', 'golden', 'eval-strings.json');
const golden = JSON.parse(readFileSync(file, 'utf8'));
const env = { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '' };

// All regular-expression cases in one evaluation (none of them fails), read
// by Nix from the file itself: no pattern needs quoting for Nix. (The live
// comparison in the test evaluates the same expression.)
const expr = `map (c: builtins.\${c.kind} c.pattern c.subject) (builtins.fromJSON (builtins.readFile ${JSON.stringify(file)})).regex`;
const results = JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { encoding: 'utf8', env, maxBuffer: 1 << 26 }));
golden.regex = golden.regex.map((c, i) => ({ kind: c.kind, pattern: c.pattern, subject: c.subject, result: results[i] }));

// Expressions one by one, as printed by --eval --strict.
golden.exprs = golden.exprs.map(({ expr }) => ({ expr, output: execFileSync('nix-instantiate', ['--eval', '--strict', '-E', expr], { encoding: 'utf8', env }).trimEnd() }));

const version = execFileSync('nix-instantiate', ['--version'], { encoding: 'utf8', env }).trim();
golden.recordedWith = `${version}, --store dummy://`;
writeFileSync(file, JSON.stringify(golden, null, 1) + '\n');
console.log(`recorded ${golden.regex.length} regular-expression cases and ${golden.exprs.length} expressions with ${version}`);
