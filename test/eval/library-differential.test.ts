// Library-style Nix (fixpoints, overlays, a module system, string and list
// utilities) must evaluate to what C++ Nix gives: compared with the values
// recorded from the reference (scripts/record-golden-eval.mjs), and live when
// the reference nix-instantiate is on PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, 'test', 'fixtures', 'eval-libs');
const golden = JSON.parse(readFileSync(join(root, 'test', 'golden', 'eval-libs.json'), 'utf8')).results as Record<string, unknown>;
const env = { ...process.env, NIX_REMOTE: 'dummy://', NIX_PATH: '' };
const referenceOnPath = spawnSync('sh', ['-c', 'command -v nix-instantiate'], { encoding: 'utf8' }).stdout.trim() !== '';

function evalJson(program: string, file: string): unknown {
  return JSON.parse(execFileSync(program, ['--eval', '--strict', '--json', file], { encoding: 'utf8', env }));
}

describe('library-style code evaluates as in C++ Nix', () => {
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.nix'))) {
    it(`${f} matches the recorded result`, () => {
      expect(evalJson(join(root, 'bin', 'nix-instantiate'), join(dir, f))).toEqual(golden[f]);
    });
    it.runIf(referenceOnPath)(`${f} matches the reference live`, () => {
      expect(evalJson(join(root, 'bin', 'nix-instantiate'), join(dir, f))).toEqual(evalJson('nix-instantiate', join(dir, f)));
    });
  }
});
