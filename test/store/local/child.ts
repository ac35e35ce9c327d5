// Builds a test fixture into a plain CommonJS script once (esbuild), so
// tests can run store code in separate processes and kill them.

import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { tempDir } from './helpers.js';

const built = new Map<string, string>();
const repoRoot = path.resolve(import.meta.dirname, '../../..');

export function buildFixture(name: string): string {
  const cached = built.get(name);
  if (cached) return cached;
  const outfile = path.join(tempDir('tsnix-fixture-'), `${name}.cjs`);
  buildSync({
    entryPoints: [path.join(import.meta.dirname, 'fixtures', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    // Dependencies load from the repository's node_modules (NODE_PATH).
    packages: 'external',
    logLevel: 'error',
  });
  fs.chmodSync(outfile, 0o755);
  built.set(name, outfile);
  return outfile;
}

/** Environment for fixture processes: native modules resolve from the repository. */
export function fixtureEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') };
}
