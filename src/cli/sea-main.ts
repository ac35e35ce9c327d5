// Entry of the single executable (scripts/build-sea.mjs). Inside a SEA,
// process.argv[1] is the executable path as started (a link name such as
// nix-build works), and oclif cannot load commands from disk, so `tsnix` with
// no known command prints the command list itself.

import { CLASSIC_COMMANDS, main } from './main.js';
import { basename } from 'node:path';

const invokedAs = basename(process.argv[1] ?? 'tsnix');
const args = process.argv.slice(2);
const known = new Set(Object.values(CLASSIC_COMMANDS));
if (!CLASSIC_COMMANDS[invokedAs] && (args.length === 0 || !known.has(args[0]!) || args.includes('--help'))) {
  process.stdout.write(
    `usage: tsnix COMMAND [ARGS...]\n\ncommands (also available under their Nix names):\n` +
      Object.entries(CLASSIC_COMMANDS)
        .map(([prog, cmd]) => `  ${cmd.padEnd(16)} ${prog}\n`)
        .join(''),
  );
} else {
  // No top-level await: the bundle is CommonJS.
  void main(process.argv);
}
