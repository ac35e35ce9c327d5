// A runnable nix-build for tests that need a separate process (killing it
// mid-build): the command bundled with esbuild from the TypeScript sources,
// placed inside the repository so that its dependencies resolve from
// node_modules.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

export async function bundleNixBuild(): Promise<string> {
  const outfile = path.join(repoRoot, 'node_modules', '.cache', 'tsnix-test', `nix-build-${process.pid}.mjs`);
  await build({
    entryPoints: [path.join(here, 'nix-build-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    packages: 'external',
    logLevel: 'silent',
  });
  return outfile;
}
