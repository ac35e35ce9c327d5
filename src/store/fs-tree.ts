// File-tree helpers shared by the store, the builder and the collector.
import fs from 'node:fs';
import path from 'node:path';

/** Whether anything (even a dangling symlink) exists at p. */
export { existsNoFollow as lexists } from '../byte-fs.js';

/** Deletes a tree even when canonicalisation made its directories read-only. */
export function deleteTree(p: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    if ((st.mode & 0o700) !== 0o700) fs.chmodSync(p, st.mode | 0o700);
    for (const name of fs.readdirSync(p)) deleteTree(path.join(p, name));
    fs.rmdirSync(p);
  } else {
    fs.unlinkSync(p);
  }
}
