// Nix's getDerivations: which derivations a value denotes, for
// nix-instantiate (without --eval), nix-build and nix-env. A derivation is
// itself; a list is its elements; an attribute set is its attributes (names
// that look like attribute paths, in sorted order), recursing further only
// into sets with `recurseForDerivations = true`. The same derivation reached
// twice is listed once.

import { EvalError, NixError, TypeError } from './errors.js';
import type { EvalState } from './eval-state.js';
import {
  NixAttrs,
  force,
  forceAttrs,
  forceBool,
  forceList,
  forceStringNoCtx,
  isDerivation,
  type Lazy,
} from './values.js';

/** One derivation as nix-env and nix-build see it (Nix's PackageInfo). */
export class PackageInfo {
  private _name?: string;
  private _system?: string;
  private _drvPath?: string | null;
  private _outPath?: string;
  private _outputName?: string;

  constructor(
    readonly state: EvalState,
    /** Attribute path it was found under, e.g. `hello` or `0`. */
    readonly attrPath: string,
    readonly attrs: NixAttrs,
  ) {}

  queryName(): string {
    if (this._name === undefined) {
      const v = this.attrs.get('name');
      if (v === undefined) throw new TypeError('derivation name missing');
      this._name = forceStringNoCtx(v, undefined, "while evaluating the 'name' attribute of a derivation");
    }
    return this._name;
  }

  querySystem(): string {
    if (this._system === undefined) {
      const v = this.attrs.get('system');
      this._system =
        v === undefined ? 'unknown' : forceStringNoCtx(v, this.attrs.posOf('system'), "while evaluating the 'system' attribute of a derivation");
    }
    return this._system;
  }

  /** The .drv path, or null when the set has no drvPath (e.g. a fake derivation). */
  queryDrvPath(): string | null {
    if (this._drvPath === undefined) {
      const v = this.attrs.get('drvPath');
      if (v === undefined) this._drvPath = null;
      else {
        const path = this.storePathOf(v, this.attrs.posOf('drvPath'), "while evaluating the 'drvPath' attribute of a derivation");
        if (!path.endsWith('.drv')) {
          const err = new EvalError(`store path '${baseName(path)}' is not a valid derivation path`);
          err.addTrace(this.attrs.posOf('drvPath'), "while evaluating the 'drvPath' attribute of a derivation");
          throw err;
        }
        this._drvPath = path;
      }
    }
    return this._drvPath;
  }

  requireDrvPath(): string {
    const p = this.queryDrvPath();
    if (p === null) throw new EvalError("derivation does not contain a 'drvPath' attribute");
    return p;
  }

  queryOutPath(): string {
    if (this._outPath === undefined) {
      const v = this.attrs.get('outPath');
      if (v === undefined) throw new EvalError("derivation does not have attribute 'outPath'");
      this._outPath = this.storePathOf(v, this.attrs.posOf('outPath'), 'while evaluating the output path of a derivation');
    }
    return this._outPath;
  }

  /** The output the expression selected (`outputName`), "" when absent. */
  queryOutputName(): string {
    if (this._outputName === undefined) {
      const v = this.attrs.get('outputName');
      this._outputName = v === undefined ? '' : forceStringNoCtx(v, undefined, "while evaluating the output name of a derivation");
    }
    return this._outputName;
  }

  /** Output names in the derivation's order, with their paths when asked. */
  queryOutputs(withPaths: boolean): Map<string, string | undefined> {
    const result = new Map<string, string | undefined>();
    const outputs = this.attrs.get('outputs');
    if (outputs === undefined) {
      result.set('out', withPaths ? this.queryOutPath() : undefined);
      return result;
    }
    const pos = this.attrs.posOf('outputs');
    const list = forceList(outputs, pos, "while evaluating the 'outputs' attribute of a derivation");
    for (const elem of list) {
      const name = forceStringNoCtx(elem, pos, 'while evaluating the name of an output of a derivation');
      if (!withPaths) {
        result.set(name, undefined);
        continue;
      }
      const out = this.attrs.get(name);
      if (out === undefined) continue;
      const outAttrs = forceAttrs(out, pos, 'while evaluating an output of a derivation');
      const outPath = outAttrs.get('outPath');
      if (outPath === undefined) continue;
      result.set(name, this.storePathOf(outPath, outAttrs.posOf('outPath'), 'while evaluating an output path of a derivation'));
    }
    return result;
  }

  private storePathOf(v: Lazy, pos: NixAttrs['pos'], ctx: string): string {
    const context = new Set<string>();
    const s = this.state.coerceToString(v, pos, ctx, context, false, false);
    const storeDir = this.state.store.storeDir;
    if (!s.startsWith(storeDir + '/')) {
      const err = new EvalError(`path '${s}' is not in the Nix store`);
      err.addTrace(pos, ctx);
      throw err;
    }
    return s;
  }
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** `[A-Za-z_][A-Za-z0-9-_+]*`: names nix-env can address as attribute paths. */
function isAttrPathComponent(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_+-]*$/.test(name);
}

export interface GetDerivationsOptions {
  ignoreAssertionFailures?: boolean;
}

export function getDerivations(
  state: EvalState,
  value: Lazy,
  pathPrefix: string,
  autoArgs: NixAttrs,
  options: GetDerivationsOptions = {},
): PackageInfo[] {
  const drvs: PackageInfo[] = [];
  const done = new Set<NixAttrs>();

  // Returns true when the value is not a derivation (so the caller may recurse).
  const getDerivation = (v: Lazy, attrPath: string): boolean => {
    try {
      const fv = force(v);
      if (!isDerivation(fv)) return true;
      const attrs = fv as NixAttrs;
      if (done.has(attrs)) return false;
      done.add(attrs);
      const info = new PackageInfo(state, attrPath, attrs);
      info.queryName();
      drvs.push(info);
      return false;
    } catch (e) {
      if (options.ignoreAssertionFailures && e instanceof NixError && e.name === 'AssertionError') return false;
      throw e;
    }
  };

  const walk = (vIn: Lazy, prefix: string): void => {
    const v = state.autoCallFunction(force(vIn), autoArgs);
    if (!getDerivation(v, prefix)) return;
    if (v instanceof NixAttrs) {
      const combineChannels = v.has('_combineChannels');
      for (const name of v.keys()) {
        if (!isAttrPathComponent(name)) continue;
        const child = v.get(name)!;
        const prefix2 = prefix === '' ? name : `${prefix}.${name}`;
        try {
          if (combineChannels) walk(child, prefix2);
          else if (getDerivation(child, prefix2)) {
            const cv = force(child);
            if (cv instanceof NixAttrs) {
              const r = cv.get('recurseForDerivations');
              if (r !== undefined && forceBool(r, cv.posOf('recurseForDerivations'), 'while evaluating the attribute `recurseForDerivations`'))
                walk(cv, prefix2);
            }
          }
        } catch (e) {
          if (e instanceof NixError) e.addTrace(v.posOf(name), `while evaluating the attribute '${name}'`);
          throw e;
        }
      }
    } else if (Array.isArray(v)) {
      v.forEach((elem, n) => {
        const prefix2 = prefix === '' ? String(n) : `${prefix}.${n}`;
        if (getDerivation(elem, prefix2)) walk(elem, prefix2);
      });
    } else {
      throw new TypeError('expression does not evaluate to a derivation (or a set or list of those)');
    }
  };

  walk(value, pathPrefix);
  return drvs;
}
