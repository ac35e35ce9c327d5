// Small file-tree operations the builder needs: deleting trees that
// canonicalisation made read-only, handing trees to another owner, and
// checking whether other users can reach a directory.

import fs from 'node:fs';
import path from 'node:path';

/** Deletes a tree, making read-only directories writable first. */
export function removeTree(p: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    if ((st.mode & 0o700) !== 0o700) fs.chmodSync(p, st.mode | 0o700);
    for (const name of fs.readdirSync(p)) removeTree(path.join(p, name));
    fs.rmdirSync(p);
  } else {
    fs.unlinkSync(p);
  }
}

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
