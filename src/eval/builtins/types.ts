// Type predicates: isNull, isInt, …, typeOf.

import { registerBuiltins } from './registry.js';
import {
  force,
  isFunction,
  NixAttrs,
  NixPath,
  NixString,
  typeOf,
  type Lazy,
  type Value,
  isInt,
  NixFloat,
} from '../values.js';

function predicate(name: string, test: (v: Value) => boolean) {
  return {
    name,
    arity: 1,
    fn: (args: Lazy[], pos: any) => test(force(args[0]!, pos)),
  };
}

registerBuiltins([
  predicate('isNull', (v) => v === null),
  predicate('__isInt', (v) => isInt(v)),
  predicate('__isFloat', (v) => v instanceof NixFloat),
  predicate('__isBool', (v) => typeof v === 'boolean'),
  predicate('__isString', (v) => typeof v === 'string' || v instanceof NixString),
  predicate('__isPath', (v) => v instanceof NixPath),
  predicate('__isList', (v) => Array.isArray(v)),
  predicate('__isAttrs', (v) => v instanceof NixAttrs),
  predicate('__isFunction', (v) => isFunction(v)),
  { name: '__typeOf', arity: 1, fn: (args, pos) => typeOf(force(args[0]!, pos)) },
]);
