// A build that did not produce valid outputs. `kind` decides Nix's exit
// status (100 + bits for failed, timed out, hash mismatch, not deterministic).

import { NixError } from '../eval/errors.js';

export type FailureKind = 'permanent' | 'transient' | 'timedOut' | 'hashMismatch' | 'checkMismatch' | 'misc';

export class BuildFailure extends NixError {
  constructor(message: string, readonly kind: FailureKind) {
    super(message);
  }
}
