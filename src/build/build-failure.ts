// A build that did not produce valid outputs. `kind` decides Nix's exit
// status (100 + bits for failed, timed out, hash mismatch, not deterministic).

import { NixError } from '../eval/errors.js';

/**
 * permanent: the builder failed (exit status 100); transient: a fixed-output
 * builder failed; rejected: the builder succeeded but its outputs were not
 * acceptable (missing, forbidden references); misc: anything else. Only
 * permanent, timedOut, hashMismatch and checkMismatch set Nix's status bits.
 */
export type FailureKind = 'permanent' | 'transient' | 'rejected' | 'timedOut' | 'hashMismatch' | 'checkMismatch' | 'misc';

export class BuildFailure extends NixError {
  constructor(message: string, readonly kind: FailureKind) {
    super(message);
  }
}
