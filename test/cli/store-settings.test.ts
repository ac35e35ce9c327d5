// Settings that change how the local store writes: auto-optimise-store and
// gc-reserved-space, through the real nix-store command.
import { mkdtempSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'tsnix-store-settings-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  writeFileSync(a, 'the same contents, twice\n'.repeat(100));
  writeFileSync(b, 'the same contents, twice\n'.repeat(100));
  return { dir, a, b, root: join(dir, 'root') };
}

const physical = (root: string, storePath: string) => join(root, storePath);

describe('local store settings', () => {
  it('auto-optimise-store hard-links identical files of new paths', () => {
    const f = fixture();
    const add = (file: string) =>
      runCli('nix-store', ['--store', f.root, '--option', 'auto-optimise-store', 'true', '--add', file]).stdout.trim();
    const pa = add(f.a);
    const pb = add(f.b);
    expect(pa).not.toBe(pb);
    const sa = statSync(physical(f.root, pa));
    const sb = statSync(physical(f.root, pb));
    expect(sa.ino).toBe(sb.ino);
    expect(readdirSync(join(f.root, 'nix', 'store', '.links'))).toHaveLength(1);
    expect(runCli('nix-store', ['--store', f.root, '--verify', '--check-contents']).status).toBe(0);
  });

  it('leaves files unshared without it', () => {
    const f = fixture();
    const pa = runCli('nix-store', ['--store', f.root, '--add', f.a]).stdout.trim();
    const pb = runCli('nix-store', ['--store', f.root, '--add', f.b]).stdout.trim();
    expect(statSync(physical(f.root, pa)).ino).not.toBe(statSync(physical(f.root, pb)).ino);
  });

  it('gc-reserved-space sets the size of the reserved file', () => {
    const f = fixture();
    runCli('nix-store', ['--store', f.root, '--option', 'gc-reserved-space', '12345', '--add', f.a]);
    expect(statSync(join(f.root, 'nix', 'var', 'nix', 'db', 'reserved')).size).toBe(12345);
  });
});
