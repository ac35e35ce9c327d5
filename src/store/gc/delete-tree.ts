// Deleting a store path's files and counting what it frees, as Nix counts:
// the size of every non-directory with one link, and also of those with two
// (after optimisation the second link is the .links entry, which the
// collector removes afterwards). Directories in the store are read-only, so
// they are made writable first. Iterative: trees can be deep.

import fs from 'node:fs';
import path from 'node:path';

export function deleteTreeCountingBytes(top: string): number {
  let freed = 0;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(top);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  if (!st.isDirectory()) {
    if (st.nlink <= 2) freed += st.size;
    fs.unlinkSync(top);
    return freed;
  }
  // Post-order walk: a directory is removed once its entries are.
  const stack: { dir: string; entered: boolean }[] = [{ dir: top, entered: false }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.entered) {
      fs.rmdirSync(frame.dir);
      stack.pop();
      continue;
    }
    frame.entered = true;
    const dst = fs.lstatSync(frame.dir);
    if ((dst.mode & 0o700) !== 0o700) fs.chmodSync(frame.dir, dst.mode | 0o700);
    for (const ent of fs.readdirSync(frame.dir, { withFileTypes: true })) {
      const p = path.join(frame.dir, ent.name);
      if (ent.isDirectory()) {
        stack.push({ dir: p, entered: false });
      } else {
        const est = fs.lstatSync(p);
        if (est.nlink <= 2) freed += est.size;
        fs.unlinkSync(p);
      }
    }
  }
  return freed;
}
