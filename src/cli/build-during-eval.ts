// Import from derivation: when the evaluation reads an output that is not
// built yet, it is built before evaluation goes on. The evaluator is
// synchronous and the builder is not, so the build runs in a child tsnix
// (`nix-store --realise`) that the evaluation waits for. The child opens the
// same store with the same settings; its build log and progress show on
// stderr as they come, as Nix's do, and its final errors come back on a pipe
// (TSNIX_ERRORS_FD, see run-command.ts) so the evaluator raises them with its
// own trace and Nix's exit status (100 for a failed build).

import type * as ChildProcess from 'node:child_process';
import { BuildError, EvalError } from '../eval/errors.js';
import type { LocalStore } from '../store/local/local-store.js';
import type { Settings } from './settings.js';
import { DEFAULT_VERBOSITY, type CommonArgs } from './args.js';
import { isSea } from '../single-executable.js';
import type { BuildTarget } from '../eval/eval-state.js';

/** How to start this program again: node with the script, or the single executable alone. */
function selfCommand(): { file: string; args: string[]; env: Record<string, string> } {
  if (isSea()) return { file: process.execPath, args: ['store'], env: {} };
  // process.argv[1] is bin/load-bundle.cjs or dist/cli/bin.js; the launcher passes the program name.
  const script = process.argv[1] ?? '';
  if (!/(^|\/)(load-bundle\.cjs|bin\.js)$/.test(script)) {
    // Not started as tsnix (a test runner calling a command in-process): there is no tsnix to start.
    throw new EvalError('cannot build during evaluation: this process was not started as tsnix');
  }
  return { file: process.execPath, args: [...process.execArgv, script], env: { TSNIX_ARGV0: 'nix-store' } };
}

/**
 * The child's flags beyond the settings: the same verbosity and -Q. Nix
 * builds these through buildPaths, which does not list what it will build
 * first (`these derivations will be built:` is the commands' own), so
 * print-missing is off (given after the settings, so it wins).
 */
export function childLogFlags(common: Pick<CommonArgs, 'verbosity' | 'noBuildOutput'>): string[] {
  const flags: string[] = [];
  const delta = common.verbosity - DEFAULT_VERBOSITY;
  for (let i = 0; i < Math.abs(delta); i++) flags.push(delta > 0 ? '-v' : '--quiet');
  if (common.noBuildOutput) flags.push('-Q');
  flags.push('--option', 'print-missing', 'false');
  return flags;
}

/** Builds derivation outputs in a child tsnix; throws BuildError with the child's errors when it fails. */
export function buildDuringEvaluation(store: LocalStore, settings: Settings, logFlags: string[], targets: BuildTarget[]): void {
  const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof ChildProcess;
  const self = selfCommand();
  // The same settings (the store among them: --store sets `store`; NIX_REMOTE is inherited).
  const options = [...settings.explicitValues().flatMap(([name, value]) => ['--option', name, value]), ...logFlags];
  // Temporary roots first, as Nix registers outputs before building them:
  // the child's own roots end with it, and this evaluation reads the outputs after.
  for (const t of targets) if (t.outPath !== undefined) store.addTempRoot(t.outPath);
  // nix-store takes `drv!out`.
  const paths = targets.map((t) => `${t.drvPath}!${t.output}`);
  const r = spawnSync(self.file, [...self.args, '--realise', '--no-gc-warning', ...options, ...paths], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: { ...process.env, ...self.env, TSNIX_ERRORS_FD: '3' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0) return;
  const text = (r.output[3] as Buffer | null)?.toString('utf8').trimEnd() ?? '';
  const message = text.replace(/^error: /, '') || `building '${targets[0]!.drvPath}^${targets[0]!.output}' during evaluation failed`;
  throw new BuildError(message, r.status ?? 1);
}
