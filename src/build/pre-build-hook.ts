// The pre-build-hook setting: a program Nix runs before each build, as
// `<hook> <drv>` (and, for a sandboxed build, the build's chroot directory
// as a second argument). What it prints asks for more paths in the
// sandbox: a line `extra-sandbox-paths` (or `extra-chroot-dirs`), then one
// path or `target=source` per line up to an empty line. Anything else it
// prints, and a hook that fails, make the build fail with Nix's messages.

import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { NixError } from '../eval/errors.js';
import { statusToString } from '../process-status.js';
import type { SandboxPath } from './sandbox.js';

/** `say` prints what Nix's child process prints itself (a failed exec). */
export function runPreBuildHook(program: string, drvPath: string, chrootDir: string | undefined, say: (line: string) => void): SandboxPath[] {
  // Run as named, not looked up along PATH (Nix's runProgram without searchPath).
  const r = spawnSync(program.includes('/') ? program : path.resolve(program), chrootDir === undefined ? [drvPath] : [drvPath, chrootDir], {
    stdio: ['inherit', 'pipe', 'inherit'],
    maxBuffer: 1 << 30,
    argv0: program,
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : r.error.message;
    say(`error: executing '${program}': ${reason}`);
    throw new NixError(`program '${program}' failed with exit code 1`);
  }
  if (r.status !== 0) throw new NixError(`program '${program}' ${statusToString(r.status, r.signal)}`);
  const paths: SandboxPath[] = [];
  const lines = r.stdout.toString().split('\n');
  // A last line without its newline is not read.
  lines.pop();
  let inPaths = false;
  for (const line of lines) {
    if (!inPaths) {
      if (line !== 'extra-sandbox-paths' && line !== 'extra-chroot-dirs') throw new NixError(`unknown pre-build hook command '${line}'`);
      inPaths = true;
    } else if (line === '') {
      inPaths = false;
    } else {
      const eq = line.indexOf('=');
      paths.push(eq < 0 ? { target: line, source: line, optional: false } : { target: line.slice(0, eq), source: line.slice(eq + 1), optional: false });
    }
  }
  return paths;
}
