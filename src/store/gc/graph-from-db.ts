// Loads the whole reference graph of a store in three queries (one per
// table), inside one read transaction so the three agree. Per-path queries
// would cost a round trip each; a 100,000-path store loads in well under a
// second this way.

import type Database from 'better-sqlite3';
import { StoreGraph } from './liveness.js';

export function loadStoreGraph(db: Database.Database): StoreGraph {
  const graph = new StoreGraph();
  const load = db.transaction(() => {
    const byRowId = new Map<number, number>();
    const derivers: [number, string][] = [];
    for (const row of db.prepare('select id, path, deriver from ValidPaths').raw().iterate() as Iterable<[number, string, string | null]>) {
      const i = graph.add(row[1]);
      byRowId.set(row[0], i);
      if (row[2]) derivers.push([i, row[2]]);
    }
    for (const [i, deriver] of derivers) {
      const j = graph.indexOf(deriver);
      if (j !== undefined) graph.setDeriver(i, j);
    }
    for (const row of db.prepare('select referrer, reference from Refs').raw().iterate() as Iterable<[number, number]>) {
      const a = byRowId.get(row[0]);
      const b = byRowId.get(row[1]);
      if (a !== undefined && b !== undefined) graph.addReference(a, b);
    }
    for (const row of db.prepare('select drv, path from DerivationOutputs').raw().iterate() as Iterable<[number, string]>) {
      const d = byRowId.get(row[0]);
      const o = graph.indexOf(row[1]);
      if (d !== undefined && o !== undefined) graph.addOutput(d, o);
    }
  });
  load.deferred();
  return graph;
}
