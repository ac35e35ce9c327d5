// Nix's words for how a child process ended (src/process-status.ts).
import { describe, expect, it } from 'vitest';
import { statusToString } from '../src/process-status.js';

describe('statusToString', () => {
  it('words exit codes and signals as Nix does', () => {
    expect(statusToString(0)).toBe('succeeded');
    expect(statusToString(2)).toBe('failed with exit code 2');
    expect(statusToString(null, 'SIGKILL')).toBe('failed due to signal 9 (Killed)');
    expect(statusToString(null, 15)).toBe('failed due to signal 15 (Terminated)');
    expect(statusToString(null, 'SIGSEGV')).toBe('failed due to signal 11 (Segmentation fault)');
    expect(statusToString(null, 'SIGNOTONE')).toBe('died abnormally');
    expect(statusToString(null)).toBe('died abnormally');
  });
});
