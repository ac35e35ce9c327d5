// Runs the real launchers in bin/ (built dist/, see test/global-setup.ts) in a
// clean environment: a temporary HOME and config dir, and a dummy:// store
// unless a test asks for another, so nothing touches the machine's /nix.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  program: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; cwd?: string; nixConf?: string } = {},
): CliResult {
  const home = mkdtempSync(join(tmpdir(), 'tsnix-cli-'));
  const confDir = join(home, 'etc');
  mkdirSync(confDir);
  if (opts.nixConf !== undefined) writeFileSync(join(confDir, 'nix.conf'), opts.nixConf);
  const r = spawnSync(join(repoRoot, 'bin', program), args, {
    cwd: opts.cwd ?? home,
    input: opts.input ?? '',
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // The run's temporary directory (test/global-setup.ts), for what the programs create there.
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      HOME: home,
      NIX_CONF_DIR: confDir,
      NIX_USER_CONF_FILES: '',
      NIX_REMOTE: 'dummy://',
      ...opts.env,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
