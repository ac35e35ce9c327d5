#!/usr/bin/env node
// Records what the reference Nix (nix-instantiate on PATH) prints for the
// library-style programs in test/fixtures/eval-libs, as facts for
// test/eval/library-differential.test.ts: test/golden/eval-libs.json.
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test', 'fixtures', 'eval-libs');
const facts = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.nix')).sort()) {
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', join(dir, f)], {
    encoding: 'utf8',
    env: { ...process.env, NIX_REMOTE: 'dummy://' },
  });
  facts[f] = JSON.parse(out);
}
const version = execFileSync('nix-instantiate', ['--version'], { encoding: 'utf8' }).trim();
writeFileSync(join(root, 'test', 'golden', 'eval-libs.json'), JSON.stringify({ recordedWith: version, results: facts }, null, 2) + '\n');
console.log(`recorded ${Object.keys(facts).length} results with ${version}`);
