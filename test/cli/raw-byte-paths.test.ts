// Paths whose bytes are not UTF-8 (a folder named with the byte FE), given
// on the command line, as the working directory, in NIX_PATH, and behind GC
// roots: Nix handles them as bytes, and so must the commands (src/byte-fs.ts,
// src/process-bytes.ts). node's spawn can only pass UTF-8, so a shell makes
// the names with printf; the NAR hash is the one Nix 2.8 prints.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './run-cli.js';

const top = mkdtempSync(join(tmpdir(), 'tsnix-raw-paths-'));
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** `top`/`name` followed by the byte FE, as bytes. */
const raw = (name: string) => Buffer.concat([Buffer.from(join(top, name)), Buffer.of(0xfe)]);

/**
 * Runs `script` with sh in `top`; in it $R names `top`/`name` + byte FE,
 * and $BIN is bin/. Returns stdout as bytes.
 */
function sh(name: string, script: string): { status: number | null; stdout: Buffer; stderr: string } {
  const home = join(top, 'home');
  mkdirSync(home, { recursive: true });
  const r = spawnSync('sh', ['-c', `R="$1$(printf '\\376')"; BIN="$2"; ${script}`, 'sh', join(top, name), join(repoRoot, 'bin')], {
    cwd: top,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NIX_CONF_DIR: home, NIX_USER_CONF_FILES: '', NIX_REMOTE: 'dummy://' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('paths that are not UTF-8', () => {
  it('work as the working directory and in NIX_PATH', () => {
    mkdirSync(raw('cwd'));
    writeFileSync(Buffer.concat([raw('cwd'), Buffer.from('/x.nix')]), '"here"');
    const inCwd = sh('cwd', 'cd "$R" && "$BIN/nix-instantiate" --eval x.nix && "$BIN/nix-instantiate" --eval -E "import ./x.nix" && "$BIN/nix-instantiate" --eval -E ./x.nix');
    expect(inCwd.stderr).toBe('');
    expect(inCwd.stdout).toEqual(Buffer.concat([Buffer.from('"here"\n"here"\n'), raw('cwd'), Buffer.from('/x.nix\n')]));
    const searched = sh('cwd', 'NIX_PATH="foo=$R" "$BIN/nix-instantiate" --eval -E "import <foo/x.nix>" && "$BIN/nix-instantiate" --find-file -I "foo=$R" foo/x.nix');
    expect(searched.stderr).toBe('');
    expect(searched.stdout).toEqual(Buffer.concat([Buffer.from('"here"\n'), raw('cwd'), Buffer.from('/x.nix\n')]));
  });

  it('are hashed, dumped and restored under their bytes', () => {
    // A folder holding the file `f` + byte FD with "hi\n".
    mkdirSync(raw('tree'));
    writeFileSync(Buffer.concat([raw('tree'), Buffer.from('/f'), Buffer.of(0xfd)]), 'hi\n');
    const nixHash = '2d5852e6f799f23d4bfb520c8a3952275281473c198785db059b1a4fa3a43056';
    const r = sh('tree', '"$BIN/nix-hash" --type sha256 "$R" && "$BIN/nix-store" --dump "$R" | "$BIN/nix-store" --restore "$R/copy" && "$BIN/nix-hash" --type sha256 "$R/copy"');
    expect(r.stderr).toBe('');
    expect(r.stdout.toString()).toBe(`${nixHash}\n${nixHash}\n`);
    const copied = readdirSync(Buffer.concat([raw('tree'), Buffer.from('/copy')]), { encoding: 'buffer' });
    expect(copied.map((n) => n.toString('hex'))).toEqual(['66fd']);
  });

  it('keep the store paths of the GC roots in them alive', () => {
    const store = join(top, 'store');
    writeFileSync(join(top, 'kept'), 'kept\n');
    mkdirSync(raw('roots'));
    const r = sh(
      'roots',
      `S="$BIN/nix-store --store ${store}"; P=$($S --add kept) && $S -r "$P" --add-root "$R/link" >/dev/null && $S --gc >/dev/null 2>&1 && $S --check-validity "$P" && $S -q --hash "$R/link" && $S --gc --print-roots`,
    );
    expect(r.stderr).toBe('');
    const [hash, root] = r.stdout.toString('latin1').split('\n');
    expect(hash).toMatch(/^sha256:[0-9a-z]{52}$/);
    // The root is printed with its bytes, as Nix prints it.
    const target = readlinkSync(Buffer.concat([raw('roots'), Buffer.from('/link')]), 'utf8');
    expect(target).toMatch(/^\/nix\/store\/[0-9a-z]{32}-kept$/);
    expect(Buffer.from(root!, 'latin1')).toEqual(Buffer.concat([raw('roots'), Buffer.from(`/link -> ${target}`)]));
  });
});
