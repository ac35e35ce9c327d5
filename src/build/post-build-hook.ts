// The post-build-hook setting: a program run after each build (and each
// --check) once the outputs are registered, while they are still locked, as
// Nix runs it. It gets tsnix's environment plus DRV_PATH, OUT_PATHS (the
// outputs, space-separated and sorted, as documented; Nix 2.8.0 left it
// empty, NixOS/nix#6446) and NIX_CONFIG (the settings given a value), and
// no arguments; stdout and stderr are shown line by line as
// `post-build-hook: …` (not with -Q). A hook that fails ends the whole run,
// the outputs staying valid.

import fs from 'node:fs';
import path from 'node:path';
import { NixError } from '../eval/errors.js';
import { statusToString } from '../process-status.js';
import { runProcess } from './builder-process.js';
import type { Spawner } from './spawn-helper.js';

export interface PostBuildHook {
  /** The program (found along PATH when it has no slash). */
  program: string;
  /** NIX_CONFIG for it (Settings.explicitConfig). */
  config: string;
  /** Where its output goes, a line at a time; undefined to show nothing (-Q). */
  showLine?: (line: string) => void;
  tmpDirRoot: string;
}

export async function runPostBuildHook(hook: PostBuildHook, drvPath: string, outPaths: string[], spawner: Spawner, signal?: AbortSignal): Promise<void> {
  const dir = fs.mkdtempSync(path.join(hook.tmpDirRoot, 'nix-post-build-hook-'));
  const logFile = path.join(dir, 'log');
  fs.writeFileSync(logFile, '');
  let partial = '';
  const show = hook.showLine;
  const onLog = show
    ? (chunk: Buffer) => {
        partial += chunk.toString();
        for (let i; (i = partial.indexOf('\n')) >= 0; partial = partial.slice(i + 1)) show(`post-build-hook: ${partial.slice(0, i)}`);
      }
    : undefined;
  try {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    env.DRV_PATH = drvPath;
    env.OUT_PATHS = [...outPaths].sort().join(' ');
    env.NIX_CONFIG = hook.config;
    const status = await runProcess(spawner, hook.program, [], {
      env,
      cwd: process.cwd(),
      logFile,
      onLog,
      signal,
      maxSilentTime: 0,
      timeout: 0,
      argv0: hook.program,
      // A pipe in Nix, not a terminal; and Nix's child reports a failed exec as an error.
      terminal: false,
      execFailurePrefix: 'error: ',
    });
    if (partial !== '' && show) show(`post-build-hook: ${partial}`);
    if (status.code !== 0 || status.signal !== undefined)
      throw new NixError(`program '${hook.program}' ${statusToString(status.code, status.signal)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
