#!/usr/bin/env node
// Counts the JavaScript function calls one evaluation makes, exactly (V8's
// precise coverage with call counts), and prints the most called functions
// of tsnix's compiled modules. A deterministic measure of evaluation work
// where wall time on a busy machine is too noisy to show a few percent.
//
//   npx tsc -p tsconfig.json && node scripts/bench/calls.mjs FILE.nix [N]
//
// Deep evaluations (recursion.nix) need the stack bin/tsnix gives node:
//   (ulimit -s 1048576; node --stack-size=900000 scripts/bench/calls.mjs FILE.nix)
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [file, top = '40'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/bench/calls.mjs FILE.nix [N]');
  process.exit(1);
}

const session = new Session();
session.connect();
const post = (method, params) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
await post('Profiler.enable');
await post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });

const dist = pathToFileURL(join(root, 'dist')).href;
const { EvalState } = await import(`${dist}/eval/eval-state.js`);
const { ReadOnlyStore } = await import(`${dist}/store/readonly-store.js`);
const state = new EvalState(new ReadOnlyStore('/nix/store'), {});
state.forceValueDeep(state.evalFile(resolve(file)));

const { result } = await post('Profiler.takePreciseCoverage');
const rows = [];
let total = 0;
for (const script of result) {
  if (!script.url.startsWith(dist)) continue;
  const source = readFileSync(fileURLToPath(script.url), 'utf8');
  for (const f of script.functions) {
    const range = f.ranges[0];
    // The module's own top level is reported as a function too.
    if (!range || range.count === 0 || (f.functionName === '' && range.startOffset === 0)) continue;
    const line = source.slice(0, range.startOffset).split('\n').length;
    rows.push([range.count, `${f.functionName || '(anonymous)'} ${script.url.slice(dist.length + 1)}:${line}`]);
    total += range.count;
  }
}
rows.sort((a, b) => b[0] - a[0]);
console.log(`${total} calls`);
for (const [count, where] of rows.slice(0, Number(top))) console.log(String(count).padStart(10), where);
