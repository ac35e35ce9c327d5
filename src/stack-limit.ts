// The stack size limit tsnix was started with.
//
// bin/tsnix raises its own soft limit so that deep Nix recursion fits on
// the main thread. The programs tsnix starts must not inherit that: Nix
// restores its original limit before running a builder, and glibc sizes
// every thread's default stack from it (a builder with many threads would
// reserve a gibibyte each). The launcher puts the limit it was given in
// TSNIX_STACK_LIMIT (which tsnix children inherit); a tsnix started
// otherwise (the single executable, tests) never raised its own.

import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The original soft limit as `ulimit -s` takes it: kibibytes, or `unlimited`. */
export function originalStackLimit(): string {
  if (cached !== undefined) return cached;
  const given = process.env.TSNIX_STACK_LIMIT;
  if (given !== undefined && /^([0-9]+|unlimited)$/.test(given)) return (cached = given);
  try {
    const line = readFileSync('/proc/self/limits', 'latin1').split('\n').find((l) => l.startsWith('Max stack size'));
    const soft = line?.slice('Max stack size'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return (cached = soft);
    if (soft !== undefined && /^[0-9]+$/.test(soft)) return (cached = String(Math.floor(Number(soft) / 1024)));
  } catch {
    // No /proc.
  }
  return (cached = '8192'); // Linux's default
}

/**
 * `command args` run with the original limit: through sh, whose `ulimit`
 * sets it before exec (node cannot set resource limits).
 */
export function withOriginalStackLimit(command: string, args: string[]): { command: string; args: string[] } {
  return { command: '/bin/sh', args: ['-c', 'ulimit -S -s "$0" 2>/dev/null; exec "$@"', originalStackLimit(), command, ...args] };
}
