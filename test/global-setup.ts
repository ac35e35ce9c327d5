// Tests that run the real binaries (bin/nix-instantiate, …) need dist/ and
// its bundle to match the sources under test, so build once before the run.
//
// Every temporary file of the run (the tests' chroot stores, HOMEs and
// fixtures, the build directories of the builds they start) goes under one
// directory, TMPDIR for the whole run, removed when the run ends: the tests
// would otherwise leave a few hundred directories in /tmp each time.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  // bin/tsnix runs the single-file bundle when it is newer than dist/: test what users run.
  execFileSync(process.execPath, [join(root, 'scripts', 'build-bundle.mjs')], { stdio: 'inherit' });

  const runTmp = mkdtempSync(join(tmpdir(), 'tsnix-test-'));
  // As /tmp is: builds in the sandbox reach their build directories here.
  chmodSync(runTmp, 0o755);
  // The test workers are started after this and inherit it (os.tmpdir() reads it).
  process.env.TMPDIR = runTmp;
  return () => {
    // Chroot stores hold read-only directories: make them writable to remove them.
    execFileSync('chmod', ['-R', 'u+w', runTmp]);
    rmSync(runTmp, { recursive: true, force: true });
  };
}
