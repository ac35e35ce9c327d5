// Runtime roots: store paths that running processes hold, found the way Nix
// finds them on Linux — the executable, working directory and open files of
// every process (/proc/<pid>/exe, cwd, fd/*), the files it has mapped
// (/proc/<pid>/maps), store paths mentioned in its environment
// (/proc/<pid>/environ), and a few kernel settings naming programs
// (modprobe, fbsplash, poweroff_cmd). Processes we may not inspect are
// skipped, as in Nix.
//
// One deliberate difference: besides the logical store directory, targets
// under the physical directory of a chroot store are mapped back to their
// logical store path. Processes using a chroot store see it under its
// physical name, and Nix would let their files be deleted under them.

import fs from 'node:fs';
import { addRoot, CENSORED, type Roots } from './roots.js';
import { toStorePath } from '../store-path.js';

/** Target (an absolute path) → the /proc entries that mention it. */
export type UncheckedRoots = Map<string, Set<string>>;

function note(roots: UncheckedRoots, target: string, link: string): void {
  let links = roots.get(target);
  if (!links) roots.set(target, (links = new Set()));
  links.add(link);
}

function readProcLink(file: string, roots: UncheckedRoots): void {
  let target: string;
  try {
    target = fs.readlinkSync(file);
  } catch {
    return;
  }
  if (target.startsWith('/')) note(roots, target, file);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const MAPS_LINE = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\/\S+)\s*$/;

/** Every absolute path the running processes hold, with where it was seen. */
export function findRuntimeRootsUnchecked(storeDirs: string[], procDir = '/proc'): UncheckedRoots {
  const unchecked: UncheckedRoots = new Map();
  const storePathInText = new RegExp(
    `(?:${storeDirs.map(escapeRegExp).join('|')})/[0-9a-z]+[0-9a-zA-Z+\\-._?=]*`, 'g');
  let pids: string[];
  try {
    pids = fs.readdirSync(procDir).filter((name) => /^\d+$/.test(name));
  } catch {
    pids = [];
  }
  for (const pid of pids) {
    const base = `${procDir}/${pid}`;
    readProcLink(`${base}/exe`, unchecked);
    readProcLink(`${base}/cwd`, unchecked);
    let fds: string[];
    try {
      fds = fs.readdirSync(`${base}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) if (!fd.startsWith('.')) readProcLink(`${base}/fd/${fd}`, unchecked);
    try {
      const mapFile = `${base}/maps`;
      for (const line of fs.readFileSync(mapFile, 'latin1').split('\n')) {
        const m = MAPS_LINE.exec(line);
        if (m) note(unchecked, m[1]!, mapFile);
      }
      const envFile = `${base}/environ`;
      const env = fs.readFileSync(envFile, 'latin1');
      for (const m of env.matchAll(storePathInText)) note(unchecked, m[0], envFile);
    } catch {
      // The process exited or is not ours to inspect.
    }
  }
  for (const file of ['sys/kernel/modprobe', 'sys/kernel/fbsplash', 'sys/kernel/poweroff_cmd']) {
    try {
      note(unchecked, fs.readFileSync(`${procDir}/${file}`, 'latin1'), `${procDir}/${file}`);
    } catch {
      // Absent on this kernel.
    }
  }
  return unchecked;
}

export interface RuntimeRootOptions {
  storeDir: string;
  /** The physical store directory, when it differs (chroot stores). */
  realStoreDir?: string;
  isValidPath(storePath: string): boolean;
  censor?: boolean;
  procDir?: string;
}

/** Valid store paths held by running processes, added to `roots`. */
export function findRuntimeRoots(options: RuntimeRootOptions, roots: Roots = new Map()): Roots {
  const { storeDir, realStoreDir } = options;
  const dirs = realStoreDir && realStoreDir !== storeDir ? [storeDir, realStoreDir] : [storeDir];
  const unchecked = findRuntimeRootsUnchecked(dirs, options.procDir);
  for (const [target, links] of unchecked) {
    let logical = target;
    if (realStoreDir && realStoreDir !== storeDir && target.startsWith(realStoreDir + '/'))
      logical = storeDir + target.slice(realStoreDir.length);
    let storePath: string;
    try {
      storePath = toStorePath(logical, storeDir).storePath;
    } catch {
      continue;
    }
    if (!options.isValidPath(storePath)) continue;
    if (options.censor) addRoot(roots, storePath, CENSORED);
    else for (const link of links) addRoot(roots, storePath, link);
  }
  return roots;
}
