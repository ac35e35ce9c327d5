// A collection that runs while a build is going on must not delete the
// build's inputs, even when nothing but the running build refers to them
// (Nix's temporary roots for the derivations and outputs a build uses).
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';

const repoRoot = path.resolve(__dirname, '../..');

describe('garbage collection during a build', () => {
  it('keeps an already-valid, unrooted input of the running build', async () => {
    const root = tempDir();
    const expr = mkDrvExpr(`rec {
      a = mk "input-a" "echo a > $out" { };
      b = mk "uses-a" "sleep 3; cat \${a} > $out" { inherit a; };
    }`);
    const [drvA, drvB] = refInstantiate(root, expr, ['a', 'b']);
    const store = openChrootStore(root);
    // Build a alone: its output is valid, and nothing roots it.
    expect((await realise(store, [drvTarget(drvA!)], { sandbox: 'false' })).status).toBe(0);
    const outA = fs.readFileSync(store.toRealPath(drvA!), 'utf8').match(/\/nix\/store\/[0-9a-z]{32}-input-a/)![0];
    store.close();

    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, NIX_CONF_DIR: root, NIX_USER_CONF_FILES: '' };
    const build = spawn(path.join(repoRoot, 'bin', 'nix-build'), ['--store', root, '--no-sandbox', '--no-out-link', drvB!], { env, stdio: 'pipe' });
    let stderr = '';
    build.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    // Collect once the build of b has started (a chroot store always builds in the sandbox).
    while (!stderr.includes(`building '${drvB}'`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain(`building '${drvB}'`);

    const gc = spawnSync(path.join(repoRoot, 'bin', 'nix-store'), ['--store', root, '--gc'], { env, encoding: 'utf8' });
    expect(gc.status).toBe(0);
    const status = await new Promise<number | null>((r) => build.on('close', r));
    expect(stderr).not.toContain('error');
    expect(status).toBe(0);
    const valid = spawnSync(path.join(repoRoot, 'bin', 'nix-store'), ['--store', root, '--check-validity', outA], { env });
    expect(valid.status).toBe(0);
  }, 60_000);
});
