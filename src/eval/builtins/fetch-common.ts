// What the fetchers share: the store-name rules a fetched name must meet,
// and the local file a file:// URL names.

import { fileURLToPath } from 'node:url';
import { EvalError } from '../errors.js';
import { storeNameProblem } from '../../store/store-path.js';

/** Nix's checkName: the rules for the name part of a store path, with its messages. */
export function checkName(name: string): void {
  const problem = storeNameProblem(name);
  if (problem !== undefined) throw new EvalError(problem);
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
