#!/usr/bin/env node
// Differential check against a real-world library: nixpkgs' lib and its own
// test suite (lib/tests/misc.nix, several hundred tests of fixpoints,
// overlays, the module system's helpers, string and list utilities).
// nixpkgs is not part of this project: pass a checkout (or nix-community's
// nixpkgs.lib mirror).
//
//   node scripts/nixpkgs-lib-differential.mjs PATH/TO/nixpkgs [--reference nix-instantiate]
//
// 1. tsnix runs lib/tests/misc.nix the way nixpkgs' CI does; the result must
//    be [] (every test passes).
// 2. For every test, tsnix and the reference Nix evaluate `expr` to JSON; where
//    the reference can evaluate it (old Nix versions lack newer builtins),
//    the two must print the same.
// Ends with `N passed, N failed`.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const nixpkgs = args[0] && resolve(args[0]);
let reference = 'nix-instantiate';
for (let i = 1; i < args.length; i++) if (args[i] === '--reference') reference = args[++i];
if (!nixpkgs) {
  console.error('usage: scripts/nixpkgs-lib-differential.mjs PATH/TO/nixpkgs [--reference PROGRAM]');
  process.exit(1);
}
const tsnix = join(root, 'bin', 'nix-instantiate');
const env = { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '' };
const misc = join(nixpkgs, 'lib', 'tests', 'misc.nix');

function run(program, argv) {
  const r = spawnSync(program, argv, { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  return { ok: r.status === 0, out: r.stdout, err: r.stderr };
}

let passed = 0;
let failed = 0;
const whole = run(tsnix, ['--eval', '--strict', misc]);
if (whole.ok && whole.out.trim() === '[ ]') passed++;
else {
  failed++;
  console.log(`FAIL lib/tests/misc.nix under tsnix: ${whole.out.slice(0, 500)}${whole.err.slice(0, 2000)}`);
}

// The same tests as a plain attribute set, to evaluate them one by one. The
// file goes into a copy of lib/ so that its relative paths mean what they
// meant (the checkout itself may be read-only).
const work = mkdtempSync(join(tmpdir(), 'tsnix-libdiff-'));
cpSync(join(nixpkgs, 'lib'), join(work, 'lib'), { recursive: true });
const attrsFile = join(work, 'lib', 'tests', 'misc-attrs.nix');
writeFileSync(attrsFile, readFileSync(misc, 'utf8').replace(/^runTests \{/m, '(x: x) {'));
const names = JSON.parse(run(tsnix, ['--eval', '--json', '-E', `builtins.attrNames (import ${attrsFile})`]).out);
const tests = names.filter((n) => n.startsWith('test'));
// Batch the per-test evaluations: one process per side prints a JSON map
// name → result (or a marker when the expression throws or cannot be shown).
const program = `
  let tests = import ${attrsFile};
      # Paths as strings (toJSON would copy them to the store) and functions
      # as a marker, so every test has a printable result.
      safe = v:
        if builtins.isPath v then "path:" + toString v
        else if builtins.isFunction v then "<function>"
        else if builtins.isList v then map safe v
        else if builtins.isAttrs v then (if v ? __toString || v ? outPath then toString v else builtins.mapAttrs (_: safe) v)
        else v;
      show = n: let r = builtins.tryEval (builtins.toJSON (safe tests.\${n}.expr)); in if r.success then r.value else "<error>";
  in builtins.listToAttrs (map (n: { name = n; value = show n; }) (builtins.fromJSON ''${JSON.stringify(tests)}''))`;
const ours = run(tsnix, ['--eval', '--strict', '--json', '-E', program]);
const theirs = run(reference, ['--eval', '--strict', '--json', '-E', program]);
if (!ours.ok) {
  console.log(`FAIL evaluating the tests one by one under tsnix:\n${ours.err.slice(-3000)}`);
  failed++;
} else if (!theirs.ok) {
  console.log(`the reference cannot evaluate the batch (${theirs.err.split('\n')[0]}); comparing per test`);
}
const oursMap = ours.ok ? JSON.parse(ours.out) : {};
let theirsMap = theirs.ok ? JSON.parse(theirs.out) : undefined;
let compared = 0;
let referenceFailed = 0;
for (const n of tests) {
  let t = theirsMap?.[n];
  if (theirsMap === undefined) {
    const one = run(reference, ['--eval', '--strict', '--json', '-E', `let tests = import ${attrsFile}; in builtins.toJSON tests.${n}.expr`]);
    t = one.ok ? JSON.parse(one.out) : '<error>';
  }
  if (t === '<error>') {
    referenceFailed++;
    continue;
  }
  compared++;
  if (oursMap[n] === t) passed++;
  else {
    failed++;
    console.log(`FAIL ${n}\n  nix:   ${String(t).slice(0, 300)}\n  tsnix: ${String(oursMap[n]).slice(0, 300)}`);
  }
}
console.log(`${tests.length} tests; ${compared} compared with the reference, ${referenceFailed} the reference could not evaluate`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
