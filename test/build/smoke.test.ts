import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { drvTarget, mkDrvExpr, openChrootStore, realise, refInstantiate, tempDir } from './helpers.js';

describe('smoke', () => {
  it('builds a trivial derivation sandboxed', async () => {
    const root = tempDir();
    const [drv] = refInstantiate(root, mkDrvExpr(`mk "t" "echo hello > $out; id; hostname" {}`));
    const store = openChrootStore(root);
    const r = await realise(store, [drvTarget(drv!)]);
    expect(r.messages).toEqual([`building '${drv}'...`]);
    const out = store.queryDerivationOutputs(drv!).get('out')!;
    expect(store.isValidPath(out)).toBe(true);
    expect(fs.readFileSync(store.toRealPath(out), 'utf8')).toBe('hello\n');
    expect(r.logs.get(drv!)).toBe('uid=1000(nixbld) gid=100(nixbld) groups=100(nixbld)\nlocalhost\n');
    expect(r.status).toBe(0);
  });
});
