// The diff-hook setting (with run-diff-hook): when --check finds an output
// that differs, Nix keeps the new one as `<output>.check` and runs the hook
// as `<hook> <output> <output>.check <drv> <build directory>` from /, as the
// build's user, to show the difference. Its standard output is printed as
// an error line; a hook that fails is reported and the run goes on.

import { spawnSync } from 'node:child_process';
import { statusToString } from '../process-status.js';

export interface DiffHook {
  /** The program (found along PATH when it has no slash). */
  program: string;
  /** The build's directory (still there when the hook runs). */
  buildDir: string;
  /** The build's host user, when it has one. */
  uid?: number;
  gid?: number;
}

/** Runs the hook on the valid output and the differing one; what it says, as lines to print. */
export function runDiffHook(hook: DiffHook, output: string, checked: string, drvPath: string): string[] {
  const r = spawnSync(hook.program, [output, checked, drvPath, hook.buildDir], {
    cwd: '/',
    stdio: ['inherit', 'pipe', 'inherit'],
    maxBuffer: 1 << 30,
    ...(hook.uid !== undefined ? { uid: hook.uid, gid: hook.gid } : {}),
  });
  const failed = (what: string) => [`error: diff hook execution failed: ${what}`];
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    // Nix's child reports a failed exec and exits with 1.
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : r.error.message;
    return [`error: executing '${hook.program}': ${reason}`, ...failed(`diff-hook program '${hook.program}' failed with exit code 1`)];
  }
  if (r.status !== 0) return failed(`diff-hook program '${hook.program}' ${statusToString(r.status, r.signal)}`);
  const out = r.stdout.toString().replace(/[ \n\r\t]+$/, '');
  return out === '' ? [] : [out];
}
