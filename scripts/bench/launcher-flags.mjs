// The flags bin/tsnix starts node with, read from its last line, for the
// benchmark scripts that start node themselves (to count instructions, or
// to run several builds): their runs then match what users get, and V8
// accepts the code cache, which holds a hash of V8's flags.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The node flags of bin/tsnix, with the stack size it gives under a soft limit raised to 1 GiB. */
export function launcherNodeFlags() {
  const launcher = readFileSync(join(root, 'bin', 'tsnix'), 'utf8');
  const line = /exec node (.*) "\$entry" "\$@"\s*$/.exec(launcher);
  if (!line) throw new Error('cannot find the node command line in bin/tsnix');
  return line[1].replace('$stack', '900000');
}
