// Builders that run inside tsnix instead of as a program: `builtin:<name>`
// in a derivation's builder field. Outputs are written to the host paths in
// `outputs` (scratch locations that the builder then registers).

import type { Derivation } from '../../store/derivation.js';
import { builtinFetchurl } from './fetchurl.js';
import { builtinBuildenv } from './buildenv.js';

export interface BuiltinContext {
  drvPath: string;
  drv: Derivation;
  /** The builder environment as Nix prepares it (placeholders already replaced). */
  env: Map<string, string>;
  /** Output name → host path to write. */
  outputs: Map<string, string>;
  /**
   * Where a logical path is on the host: store paths map to the real store
   * directory, the outputs to their scratch locations; other paths as they are.
   */
  toHostPath: (logicalPath: string) => string;
  log: (line: string) => void;
  signal?: AbortSignal;
}

export type BuiltinBuilder = (ctx: BuiltinContext) => Promise<void>;

const BUILTINS: Record<string, BuiltinBuilder> = {
  fetchurl: builtinFetchurl,
  buildenv: builtinBuildenv,
};

export async function runBuiltinBuilder(name: string, ctx: BuiltinContext): Promise<void> {
  const builder = BUILTINS[name];
  if (!builder) throw new Error(`unsupported builtin builder '${name}'`);
  await builder(ctx);
}
