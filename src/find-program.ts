// Finding a host program (bubblewrap, perl) as a shell would, once per
// process: the first executable of that name along PATH, then in the usual
// system folders for when PATH is bare.

import fs from 'node:fs';
import path from 'node:path';

const found = new Map<string, string | undefined>();

/** The program's absolute path, or undefined if there is none. */
export function findProgram(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let result: string | undefined;
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      result = candidate;
      break;
    } catch {
      // next
    }
  }
  found.set(name, result);
  return result;
}
