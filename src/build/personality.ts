// The process personality Nix gives builders (personality(2)), set here
// through util-linux's `setarch`, since Node cannot call personality(2):
//
// - address space randomization off, always, for more deterministic builds;
// - 32-bit (uname -m says i686, armv7l) for an i686-linux build on x86_64
//   and for armv7l-linux and armv6l-linux builds;
// - with impersonate-linux-26, a 2.6 kernel version for i686-linux and
//   x86_64-linux builds.
//
// A personality is inherited by children and kept across exec, so the spawn
// helper itself runs under `setarch -R` and every builder it starts has the
// first for free; builds that need more are started through setarch.
// Without setarch, builders keep the host's personality.

import os from 'node:os';
import { findProgram } from '../find-program.js';

/** `command args` run with address space randomization off (when setarch is there). */
export function withoutRandomization(command: string, args: string[]): { command: string; args: string[] } {
  const setarch = findProgram('setarch');
  // The architecture named explicitly: util-linux before 2.33 requires it.
  return setarch === undefined ? { command, args } : { command: setarch, args: [os.machine(), '-R', command, ...args] };
}

/**
 * `command args` run with the personality Nix gives a build for `platform`,
 * when that is more than randomization off (which the spawn helper's
 * builders inherit); unchanged otherwise, or without setarch.
 */
export function withBuildPersonality(command: string, args: string[], platform: string, o: { system: string; impersonateLinux26: boolean }): { command: string; args: string[] } {
  const linux32 = (platform === 'i686-linux' && (o.system === 'x86_64-linux' || os.machine() === 'x86_64')) || platform === 'armv7l-linux' || platform === 'armv6l-linux';
  const uname26 = o.impersonateLinux26 && (platform === 'i686-linux' || platform === 'x86_64-linux');
  const setarch = findProgram('setarch');
  if ((!linux32 && !uname26) || setarch === undefined) return { command, args };
  return { command: setarch, args: [linux32 ? 'linux32' : os.machine(), '-R', ...(uname26 ? ['--uname-2.6'] : []), command, ...args] };
}
