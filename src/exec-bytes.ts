// Starting a program whose arguments or environment hold bytes that are not
// UTF-8 (a derivation attribute read from a binary file, half a character
// cut by substring: see byte-strings.ts).
//
// Node's spawn takes only strings and encodes them as UTF-8, so such a byte
// would reach the program as U+FFFD's three bytes; Nix passes the bytes as
// they are. When any raw byte is present, the program is started through a
// few lines of Perl instead (Perl is part of every Debian system and the
// spawn helper already relies on it): the command, its arguments and its
// environment travel as bytes in a private file that Perl reads, deletes and
// then execs from, so nothing is limited by the size of one argument.
// Everything else starts directly, as before.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeBytes, hasRawBytes } from './byte-strings.js';
import { findProgram } from './find-program.js';

export interface ExecSpec {
  command: string;
  args: string[];
  /** The whole environment; undefined keeps the one the spawned process gets. */
  env?: Record<string, string>;
  argv0?: string;
  /** Printed before "executing '…': reason" when the exec fails ('error: ' for messages Nix prefixes). */
  failurePrefix?: string;
  /** Owner the file must be readable by (a build user). */
  uid?: number;
  gid?: number;
}

export interface WrappedExec {
  command: string;
  args: string[];
  /** The environment to spawn Perl with (the real one is in the file). */
  env: Record<string, string> | undefined;
  /** Removes the file if Perl never read it (it could not be started). */
  cleanup(): void;
}

// Reads the file named by its argument (NUL-separated fields: prefix,
// program, argv[0], argument count, whether an environment follows, the
// arguments, then name/value pairs), removes it, and execs. On failure it
// says why as Nix's child does and exits with 1.
const PERL_EXEC = `
my $f = shift;
open(my $h, '<:raw', $f) or die "tsnix: $f: $!\\n";
my $d = do { local $/; <$h> };
close $h; unlink $f; rmdir((($f =~ m{^(.*)/[^/]*$}) ? $1 : '.'));
my @f = split(/\\0/, $d, -1);
my ($pre, $prog, $argv0, $n, $withEnv) = splice(@f, 0, 5);
my @args = splice(@f, 0, $n);
if ($withEnv) { %ENV = (); while (@f >= 2) { my $k = shift @f; $ENV{$k} = shift @f; } }
exec { $prog } $argv0, @args;
print STDERR "$pre" . "executing '$prog': $!\\n";
exit 1;
`;

/** Whether `spec` holds a byte that spawn would not pass through. */
export function needsByteExec(spec: ExecSpec): boolean {
  if (hasRawBytes(spec.command) || (spec.argv0 !== undefined && hasRawBytes(spec.argv0))) return true;
  if (spec.args.some(hasRawBytes)) return true;
  if (spec.env) for (const [k, v] of Object.entries(spec.env)) if (hasRawBytes(k) || hasRawBytes(v)) return true;
  return false;
}

/**
 * How to start `spec`: unchanged when spawn can pass it, else through Perl
 * (see above). Throws when Perl is needed and cannot be found.
 */
export function execWithBytes(spec: ExecSpec): WrappedExec {
  if (!needsByteExec(spec)) return { command: spec.command, args: spec.args, env: spec.env, cleanup: () => {} };
  const perl = findProgram('perl');
  if (perl === undefined) throw new Error(`cannot pass bytes that are not valid UTF-8 to '${spec.command}': that needs perl, which is not on PATH`);
  const fields = [spec.failurePrefix ?? '', spec.command, spec.argv0 ?? spec.command, String(spec.args.length), spec.env ? '1' : '', ...spec.args];
  if (spec.env) for (const [k, v] of Object.entries(spec.env)) fields.push(k, v);
  if (fields.some((f) => f.includes('\0'))) throw new Error(`cannot pass a NUL byte to '${spec.command}'`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnix-exec-'));
  const file = path.join(dir, 'exec');
  const nul = Buffer.from([0]);
  fs.writeFileSync(file, Buffer.concat(fields.flatMap((f, i) => (i === 0 ? [encodeBytes(f)] : [nul, encodeBytes(f)]))), { mode: 0o600 });
  if (spec.uid !== undefined) {
    fs.chownSync(dir, spec.uid, spec.gid ?? -1);
    fs.chownSync(file, spec.uid, spec.gid ?? -1);
  }
  return {
    command: perl,
    args: ['-e', PERL_EXEC, file],
    // Perl itself needs nothing from the environment; the program's is in the file.
    env: spec.env ? {} : undefined,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
