// What the fetchers share: the store-name rules a fetched name must meet,
// and the local file a file:// URL names.

import { fileURLToPath } from 'node:url';
import { EvalError } from '../errors.js';

const MAX_NAME_LEN = 211;

/** Nix's checkName: the rules for the name part of a store path, with its messages. */
export function checkName(name: string): void {
  if (name === '') throw new EvalError('name must not be empty');
  if (name.length > MAX_NAME_LEN) throw new EvalError(`name '${name}' must be no longer than ${MAX_NAME_LEN} characters`);
  if (name[0] === '.') {
    if (name.length === 1) throw new EvalError(`name '${name}' is not valid`);
    if (name[1] === '-') throw new EvalError(`name '${name}' is not valid: first dash-separated component must not be '.'`);
    if (name[1] === '.') {
      if (name.length === 2) throw new EvalError(`name '${name}' is not valid`);
      if (name[2] === '-') throw new EvalError(`name '${name}' is not valid: first dash-separated component must not be '..'`);
    }
  }
  for (const c of name) {
    if (!/[0-9a-zA-Z+\-._?=]/.test(c)) throw new EvalError(`name '${name}' contains illegal character '${c}'`);
  }
}

/** The local path a `file://` URL names; undefined for any other URL. */
export function localFile(url: string): string | undefined {
  if (!url.startsWith('file://')) return undefined;
  try {
    return fileURLToPath(url);
  } catch {
    return undefined;
  }
}
