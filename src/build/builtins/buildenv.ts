// builtin:buildenv, the builder of nix-env's user environments: a tree of
// symlinks merging the installed packages' outputs, following Nix's rules —
// packages in priority order (lower number wins), directories merged,
// a file collision at equal priority is an error, paths named in
// nix-support/propagated-user-env-packages added afterwards at ever lower
// priority, a few files (nix-support, manifest.nix, info/dir, ...) left out,
// and $out/manifest.nix pointing at the manifest.
//
// Paths are logical store paths: the symlinks point at them. In a chroot
// store they do not exist on the host, so everything is read through
// ctx.toHostPath, and symlinks are followed with that mapping applied.

import fs from 'node:fs';
import path from 'node:path';
import type { BuiltinContext } from './index.js';

interface Package {
  path: string;
  active: boolean;
  priority: number;
}

class LinkState {
  readonly priorities = new Map<string, number>();
  symlinks = 0;
}

/** Follows symlinks in logical paths (each hop read on the host); returns the final logical path. */
function resolveLogical(p: string, toHost: (p: string) => string): string {
  let cur = p;
  for (let hops = 0; hops < 40; hops++) {
    const st = fs.lstatSync(toHost(cur));
    if (!st.isSymbolicLink()) return cur;
    const target = fs.readlinkSync(toHost(cur));
    cur = path.posix.resolve(path.posix.dirname(cur), target);
  }
  const e = new Error(`too many levels of symbolic links at '${p}'`) as NodeJS.ErrnoException;
  e.code = 'ELOOP';
  throw e;
}

function statLogical(p: string, toHost: (p: string) => string): fs.Stats {
  return fs.statSync(toHost(resolveLogical(p, toHost)));
}

const IGNORED_SUFFIXES = ['/propagated-build-inputs', '/nix-support', '/perllocal.pod', '/info/dir', '/log', '/manifest.nix', '/manifest.json'];

function createLinks(ctx: BuiltinContext, state: LinkState, srcDir: string, dstDir: string, priority: number): void {
  const toHost = ctx.toHostPath;
  let names: string[];
  try {
    names = fs.readdirSync(toHost(resolveLogical(srcDir, toHost)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      ctx.log(`warning: not including '${srcDir}' in the user environment because it's not a directory`);
      return;
    }
    throw e;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const srcFile = `${srcDir}/${name}`;
    const dstFile = `${dstDir}/${name}`;
    const dstHost = toHost(dstFile);

    let srcSt: fs.Stats;
    try {
      srcSt = statLogical(srcFile, toHost);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        ctx.log(`warning: skipping dangling symlink '${dstFile}'`);
        continue;
      }
      throw e;
    }

    if (IGNORED_SUFFIXES.some((s) => srcFile.endsWith(s))) continue;

    const dstSt = fs.lstatSync(dstHost, { throwIfNoEntry: false });
    if (srcSt.isDirectory()) {
      if (dstSt?.isDirectory()) {
        createLinks(ctx, state, srcFile, dstFile, priority);
        continue;
      }
      if (dstSt?.isSymbolicLink()) {
        const target = resolveLogical(dstFile, toHost);
        if (!fs.lstatSync(toHost(target)).isDirectory())
          throw new Error(`collision between '${srcFile}' and non-directory '${target}'`);
        fs.unlinkSync(dstHost);
        fs.mkdirSync(dstHost, { mode: 0o755 });
        createLinks(ctx, state, target, dstFile, state.priorities.get(dstFile) ?? 0);
        createLinks(ctx, state, srcFile, dstFile, priority);
        continue;
      }
    } else if (dstSt) {
      if (dstSt.isSymbolicLink()) {
        const prevPriority = state.priorities.get(dstFile) ?? 0;
        if (prevPriority === priority) {
          throw new Error(
            `packages '${srcFile}' and '${fs.readlinkSync(dstHost)}' have the same priority ${priority}; ` +
              "use 'nix-env --set-flag priority NUMBER INSTALLED_PKGNAME' " +
              'to change the priority of one of the conflicting packages (0 being the highest priority)');
        }
        if (prevPriority < priority) continue;
        fs.unlinkSync(dstHost);
      } else if (dstSt.isDirectory()) {
        throw new Error(`collision between non-directory '${srcFile}' and directory '${dstFile}'`);
      }
    }

    fs.symlinkSync(srcFile, dstHost);
    state.priorities.set(dstFile, priority);
    state.symlinks++;
  }
}

/** Nix's buildProfile: `out` is the logical output path (written through ctx.toHostPath). */
export function buildProfile(ctx: BuiltinContext, out: string, pkgs: Package[]): void {
  const state = new LinkState();
  const done = new Set<string>();
  let postponed = new Set<string>();

  const addPkg = (pkgDir: string, priority: number) => {
    if (done.has(pkgDir)) return;
    done.add(pkgDir);
    createLinks(ctx, state, pkgDir, out, priority);
    let propagated: string;
    try {
      propagated = fs.readFileSync(ctx.toHostPath(resolveLogical(`${pkgDir}/nix-support/propagated-user-env-packages`, ctx.toHostPath)), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw e;
    }
    for (const p of propagated.split(/[ \n]+/).filter((x) => x !== '')) if (!done.has(p)) postponed.add(p);
  };

  const sorted = [...pkgs].sort((a, b) => a.priority - b.priority || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const pkg of sorted) if (pkg.active) addPkg(pkg.path, pkg.priority);

  // Propagated packages come later, at lower priority, so that collisions favour what the user installed.
  let priorityCounter = 1000;
  while (postponed.size > 0) {
    const pkgDirs = [...postponed].sort();
    postponed = new Set();
    for (const pkgDir of pkgDirs) addPkg(pkgDir, priorityCounter++);
  }
}

export async function builtinBuildenv(ctx: BuiltinContext): Promise<void> {
  const attr = (name: string): string => {
    const v = ctx.drv.env.get(name);
    if (v === undefined) throw new Error(`attribute '${name}' missing`);
    return v;
  };
  const out = attr('out');
  fs.mkdirSync(ctx.toHostPath(out), { recursive: true });

  const pkgs: Package[] = [];
  const tokens = attr('derivations').split(/[ \t\n\r]+/).filter((t) => t !== '');
  for (let i = 0; i < tokens.length; ) {
    const active = tokens[i++]!;
    const priority = Number.parseInt(tokens[i++]!, 10);
    const outputs = Number.parseInt(tokens[i++]!, 10);
    for (let n = 0; n < outputs; n++) pkgs.push({ path: tokens[i++]!, active: active !== 'false', priority });
  }

  buildProfile(ctx, out, pkgs);
  fs.symlinkSync(attr('manifest'), ctx.toHostPath(`${out}/manifest.nix`));
}
