// Trees described as data so the golden recorder and the tests build the
// same thing on disk.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type TreeSpec =
  | { type: 'file'; contents: string; executable?: boolean }
  | { type: 'symlink'; target: string }
  | { type: 'dir'; entries: Record<string, TreeSpec> };

export function buildTree(path: string, spec: TreeSpec): void {
  if (spec.type === 'file') {
    writeFileSync(path, spec.contents);
    chmodSync(path, spec.executable ? 0o755 : 0o644);
  } else if (spec.type === 'symlink') {
    symlinkSync(spec.target, path);
  } else {
    mkdirSync(path);
    for (const [name, child] of Object.entries(spec.entries)) buildTree(join(path, name), child);
  }
}

export const NAR_TREES: Record<string, TreeSpec> = {
  emptyFile: { type: 'file', contents: '' },
  smallFile: { type: 'file', contents: 'hello' },
  paddedFile: { type: 'file', contents: '12345678' },
  executable: { type: 'file', contents: '#!/bin/sh\necho hi\n', executable: true },
  symlink: { type: 'symlink', target: '/some/where/else' },
  emptyDir: { type: 'dir', entries: {} },
  mixed: {
    type: 'dir',
    entries: {
      'b.txt': { type: 'file', contents: 'b' },
      'a.txt': { type: 'file', contents: 'a\n' },
      B: { type: 'file', contents: 'upper' },
      bin: { type: 'dir', entries: { run: { type: 'file', contents: 'x', executable: true } } },
      empty: { type: 'dir', entries: {} },
      link: { type: 'symlink', target: 'a.txt' },
      dangling: { type: 'symlink', target: '../nowhere' },
      'ünïcødé-名前': { type: 'file', contents: 'ü' },
      '.hidden': { type: 'file', contents: '' },
      'a-b': { type: 'file', contents: '' },
      'a.b': { type: 'file', contents: '' },
      a_b: { type: 'file', contents: '' },
    },
  },
};
