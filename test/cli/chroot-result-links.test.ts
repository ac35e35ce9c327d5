// In a chroot store, result links point at the physical path (so ./result
// works on the host). They must still protect the logical path from the
// garbage collector, and nix-store must follow them.
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('result links into a chroot store', () => {
  it('are GC roots and resolve to their store path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnix-chroot-links-'));
    const root = join(dir, 'root');
    writeFileSync(join(dir, 'kept'), 'kept\n');
    writeFileSync(join(dir, 'dropped'), 'dropped\n');
    const store = (args: string[]) => runCli('nix-store', ['--store', root, ...args], { cwd: dir });
    const kept = store(['--add', join(dir, 'kept')]).stdout.trim();
    const dropped = store(['--add', join(dir, 'dropped')]).stdout.trim();
    // What nix-build does: ./result → physical path, gcroots/auto/<x> → ./result.
    symlinkSync(join(root, kept), join(dir, 'result'));
    const auto = join(root, 'nix', 'var', 'nix', 'gcroots', 'auto');
    mkdirSync(auto, { recursive: true });
    symlinkSync(join(dir, 'result'), join(auto, 'result-link'));

    expect(store(['-q', '--hash', './result']).status).toBe(0);
    const gc = store(['--gc']);
    expect(gc.status).toBe(0);
    expect(store(['--check-validity', kept]).status).toBe(0);
    expect(store(['--check-validity', dropped]).status).not.toBe(0);
  });
});
