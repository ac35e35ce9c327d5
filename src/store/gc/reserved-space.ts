// gc-reserved-space: the local store keeps a file of that size at
// <state>/db/reserved (LocalStore.open creates it); a collection deletes it
// first, so that on a full disk the database and the collector have room to
// work. The next store open recreates it.

import fs from 'node:fs';
import path from 'node:path';

export function reservedSpacePath(stateDir: string): string {
  return path.join(stateDir, 'db', 'reserved');
}

/** Frees the reserved space; returns the bytes released (0 if there was no file). */
export function releaseReservedSpace(stateDir: string): number {
  const file = reservedSpacePath(stateDir);
  try {
    const st = fs.lstatSync(file);
    fs.unlinkSync(file);
    return st.size;
  } catch {
    return 0;
  }
}
