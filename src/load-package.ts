// npm packages that only some commands need (better-sqlite3, tar, undici,
// @oclif/core) are loaded on first use with require(): loading them at
// start-up would cost every nix-* call, and the start-up bundle
// (scripts/build-bundle.mjs) is a code-cached script, in which V8 on Node 20
// cannot run a dynamic import().

import { createRequire } from 'node:module';

let requireFn: NodeJS.Require | undefined;

function packageRequire(): NodeJS.Require {
  if (requireFn === undefined) {
    // import.meta.url is missing only where this module was bundled into
    // CommonJS without defining it (test fixtures): use that module's require.
    const url = import.meta.url as string | undefined;
    requireFn = url ? createRequire(url) : typeof require === 'function' ? require : createRequire(`${process.cwd()}/`);
  }
  return requireFn;
}

export function loadPackage<T>(name: string): T {
  return packageRequire()(name) as T;
}
