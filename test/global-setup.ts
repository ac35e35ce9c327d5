// Tests that run the real binaries (bin/nix-instantiate, …) need dist/ and
// its bundle to match the sources under test, so build once before the run.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  // bin/tsnix runs the single-file bundle when it is newer than dist/: test what users run.
  execFileSync(process.execPath, [join(root, 'scripts', 'build-bundle.mjs')], { stdio: 'inherit' });
}
