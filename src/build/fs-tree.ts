// Small file-tree operations the builder needs: handing trees to another
// owner and checking whether other users can reach a directory (deleting
// read-only trees is the store's deleteTree, re-exported here).

import fs from 'node:fs';
import path from 'node:path';

export { deleteTree } from '../store/fs-tree.js';

/** lchown of a whole tree. */
export function chownTree(p: string, uid: number, gid: number): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid);
  if (st.isDirectory()) for (const name of fs.readdirSync(p)) chownTree(path.join(p, name), uid, gid);
}

/** Whether users other than the owner can traverse every directory down to `dir` (stores in private temp dirs cannot). */
export function othersCanReach(dir: string): boolean {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (d === '/') return true;
  }
}
