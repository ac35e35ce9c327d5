// builtins.fromTOML: TOML documents as Nix values. Dates and times become
// `{ _type = "timestamp"; value = "…"; }` with the parse-toml-timestamps
// experimental feature and are an error otherwise, as in Nix.

import { registerBuiltins } from './registry.js';
import { EvalError } from '../errors.js';
import { forceStringNoCtx, mkInt, NixAttrs, NixFloat, type Lazy, type Value } from '../values.js';
import type { EvalState } from '../eval-state.js';
import { parseToml, TomlDateTime, TomlError, TomlTable, type TomlValue } from '../toml.js';

/** Nix's forceNoNullByte; its message shows NUL as ␀. */
function noNul(s: string): string {
  if (s.includes('\0')) {
    throw new EvalError(`error: input string '${s.replaceAll('\0', '␀')}' cannot be represented as Nix string because it contains null bytes`);
  }
  return s;
}

class TimestampsUnsupported extends Error {}

function toValue(t: TomlValue, timestamps: boolean): Value {
  if (t instanceof TomlTable) {
    const m = new Map<string, Lazy>();
    for (const [k, v] of t.map) m.set(noNul(k), toValue(v, timestamps));
    return new NixAttrs(m);
  }
  if (Array.isArray(t)) return t.map((x) => toValue(x, timestamps));
  if (t instanceof TomlDateTime) {
    if (!timestamps) throw new TimestampsUnsupported();
    return new NixAttrs(
      new Map<string, Lazy>([
        ['_type', 'timestamp'],
        ['value', t.text],
      ]),
    );
  }
  if (typeof t === 'string') return noNul(t);
  if (typeof t === 'bigint') return mkInt(t);
  if (typeof t === 'number') return new NixFloat(t);
  return t;
}

registerBuiltins([
  {
    name: 'fromTOML',
    arity: 1,
    fn: (args, _pos, state: EvalState) => {
      const text = forceStringNoCtx(args[0]!, undefined, 'while evaluating the argument passed to builtins.fromTOML');
      const timestamps = state.settings.experimentalFeatures?.has('parse-toml-timestamps') ?? false;
      try {
        return toValue(parseToml(text), timestamps);
      } catch (e) {
        if (e instanceof TomlError || e instanceof EvalError) throw new EvalError(`while parsing TOML: ${e.message}`);
        if (e instanceof TimestampsUnsupported) throw new EvalError('while parsing TOML: Dates and times are not supported');
        throw e;
      }
    },
  },
]);
