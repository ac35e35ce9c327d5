// The store's SQLite database, in Nix's schema version 10 (ValidPaths,
// Refs, DerivationOutputs), opened with the pragmas Nix uses, so that the
// reference implementation and tsnix can each read a store the other wrote.
// Hashes are kept as Nix keeps them (`sha256:<base16>`); callers see the
// printed form (`sha256:<base32>`).

import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { loadPackage } from '../../load-package.js';
import { sqliteNativeBinding } from '../../sea-assets.js';
import { NixError } from '../../eval/errors.js';
import { parseHashAnyPrefixed, printHash } from '../hash.js';
import type { ValidPathInfo } from '../store-api.js';
import { lockFd, openLockFile } from './path-locks.js';
import { topoSort } from '../topo-sort.js';

export const NIX_SCHEMA_VERSION = 10;


/** The tables, exactly as Nix creates them (the column types and constraints matter for Nix). */
const SCHEMA_SQL = `
create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer,
    sigs             text,
    ca               text
);

create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);

create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);

create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;

create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null,
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);

create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
`;

/** A path to register: its info plus, for a .drv, the output paths it declares. */
export interface PathRegistration {
  info: ValidPathInfo;
  /** Output name → output path (only for derivations; floating outputs are left out). */
  derivationOutputs?: Map<string, string>;
}

interface PathRow {
  id: number;
  hash: string;
  registrationTime: number;
  deriver: string | null;
  narSize: number | null;
  ultimate: number | null;
  sigs: string | null;
  ca: string | null;
}

export class StoreDatabaseError extends NixError {}

function readSchemaVersion(schemaPath: string): number {
  let text: string;
  try {
    text = fs.readFileSync(schemaPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  if (!/^\s*\d+\s*$/.test(text)) throw new StoreDatabaseError(`'${schemaPath}' is corrupt`);
  return Number.parseInt(text, 10);
}

/** `sha256:<any encoding>` → `sha256:<base16>` as the database keeps it. */
function toDbHash(narHash: string): string {
  return printHash(parseHashAnyPrefixed(narHash), 'base16', true);
}

/** `sha256:<base16>` (or any prefixed encoding) → `sha256:<base32>`. */
function fromDbHash(stored: string, path: string): string {
  try {
    return printHash(parseHashAnyPrefixed(stored), 'base32', true);
  } catch (e) {
    throw new StoreDatabaseError(`invalid-path entry for '${path}': ${(e as Error).message}`);
  }
}

export interface OpenDatabaseOptions {
  /** Open without creating or migrating anything (Nix refuses to migrate read-only). */
  readOnly?: boolean;
  /** `fsync-metadata` (default true): synchronous = normal rather than off. */
  fsyncMetadata?: boolean;
}

export class StoreDatabase {
  readonly db: Database.Database;
  readonly dbDir: string;

  private readonly stmts;

  private constructor(db: Database.Database, dbDir: string) {
    this.db = db;
    this.dbDir = dbDir;
    this.stmts = {
      registerValidPath: db.prepare(
        'insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) values (?, ?, ?, ?, ?, ?, ?, ?)'),
      updatePathInfo: db.prepare('update ValidPaths set narSize = ?, hash = ?, ultimate = ?, sigs = ?, ca = ? where path = ?'),
      addReference: db.prepare('insert or replace into Refs (referrer, reference) values (?, ?)'),
      queryPathInfo: db.prepare(
        'select id, hash, registrationTime, deriver, narSize, ultimate, sigs, ca from ValidPaths where path = ?'),
      queryPathId: db.prepare('select id from ValidPaths where path = ?').pluck(),
      queryReferences: db.prepare('select path from Refs join ValidPaths on reference = id where referrer = ?').pluck(),
      queryReferrers: db.prepare(
        'select path from Refs join ValidPaths on referrer = id where reference = (select id from ValidPaths where path = ?)').pluck(),
      invalidatePath: db.prepare('delete from ValidPaths where path = ?'),
      addDerivationOutput: db.prepare('insert or replace into DerivationOutputs (drv, id, path) values (?, ?, ?)'),
      queryValidDerivers: db.prepare(
        'select v.path from DerivationOutputs d join ValidPaths v on d.drv = v.id where d.path = ?').pluck(),
      queryDerivationOutputs: db.prepare('select id, path from DerivationOutputs where drv = ?'),
      // "path >= prefix limit 1" uses the unique index, unlike LIKE.
      queryPathFromHashPart: db.prepare('select path from ValidPaths where path >= ? limit 1').pluck(),
      queryValidPaths: db.prepare('select path from ValidPaths').pluck(),
    };
  }

  /**
   * Opens (creating if needed) `<stateDir>/db/db.sqlite`, checking and
   * writing `<stateDir>/db/schema` as Nix does.
   */
  static open(stateDir: string, options: OpenDatabaseOptions = {}): StoreDatabase {
    const dbDir = path.join(stateDir, 'db');
    const schemaPath = path.join(dbDir, 'schema');
    const dbPath = path.join(dbDir, 'db.sqlite');
    const schema = readSchemaVersion(schemaPath);
    if (schema > NIX_SCHEMA_VERSION)
      throw new StoreDatabaseError(`current Nix store schema is version ${schema}, but I only support ${NIX_SCHEMA_VERSION}`);
    if (options.readOnly && schema < NIX_SCHEMA_VERSION)
      throw new StoreDatabaseError(
        schema === 0 ? 'database does not exist, and cannot be created in read-only mode'
          : 'database schema needs migrating, but this cannot be done in read-only mode');
    if (!options.readOnly) {
      try {
        fs.accessSync(dbDir, fs.constants.R_OK | fs.constants.W_OK);
      } catch {
        throw new StoreDatabaseError(`Nix database directory '${dbDir}' is not writable: Permission denied`);
      }
    }
    if (schema > 0 && schema < 7)
      throw new StoreDatabaseError(`Nix store schema version ${schema} is too old for tsnix; upgrade it with an older Nix first`);

    let db: Database.Database;
    try {
      // Loaded here: most evaluations never open the database.
      const Sqlite = loadPackage<typeof Database>('better-sqlite3');
      db = new Sqlite(dbPath, {
        fileMustExist: schema !== 0,
        readonly: !!options.readOnly,
        timeout: 60 * 60 * 1000,
        // Inside the single executable the addon is unpacked from its assets.
        ...sqliteNativeBinding(),
      });
    } catch (e) {
      throw new StoreDatabaseError(`cannot open SQLite database '${dbPath}': ${(e as Error).message}`);
    }
    db.pragma('foreign_keys = 1');
    if (!options.readOnly) {
      db.pragma(`synchronous = ${options.fsyncMetadata === false ? 'off' : 'normal'}`);
      if (db.pragma('main.journal_mode', { simple: true }) !== 'wal') db.pragma('main.journal_mode = wal');
      // Nix raises the checkpoint interval so that a large batch of
      // registrations costs one fsync.
      db.pragma('wal_autocheckpoint = 40000');
    }

    if (schema === 0) {
      db.exec(SCHEMA_SQL);
      writeFileDurably(schemaPath, String(NIX_SCHEMA_VERSION));
    } else if (schema < NIX_SCHEMA_VERSION) {
      // The same column additions Nix performs when upgrading old stores,
      // with big-lock held exclusively so no Nix process is using the store.
      const bigLock = openLockFile(path.join(dbDir, 'big-lock'));
      lockFd(bigLock, 'write', true);
      db.transaction(() => {
        if (schema < 8) {
          db.exec('alter table ValidPaths add column ultimate integer');
          db.exec('alter table ValidPaths add column sigs text');
        }
        if (schema < 9) db.exec('drop table if exists FailedPaths');
        if (schema < 10) db.exec('alter table ValidPaths add column ca text');
      }).immediate();
      writeFileDurably(schemaPath, String(NIX_SCHEMA_VERSION));
      fs.closeSync(bigLock);
    }
    const store = new StoreDatabase(db, dbDir);
    process.once('exit', store.closeAtExit);
    return store;
  }

  /**
   * Closing checkpoints the write-ahead log into the database (the last
   * connection also removes it), which the raised autocheckpoint interval
   * otherwise leaves to grow. Commands that end with process.exit (see
   * src/cli/exit.ts) skip Node's own closing of the addon's handles, so the
   * database closes on the process's 'exit' event as well.
   */
  private readonly closeAtExit = (): void => {
    if (this.db.open) this.db.close();
  };

  close(): void {
    process.removeListener('exit', this.closeAtExit);
    this.db.close();
  }

  /** Runs fn in one write transaction, taken at once (BEGIN IMMEDIATE) so it never upgrades and deadlocks. */
  writeTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  isValidPath(storePath: string): boolean {
    return this.stmts.queryPathId.get(storePath) !== undefined;
  }

  queryPathId(storePath: string): number | undefined {
    return this.stmts.queryPathId.get(storePath) as number | undefined;
  }

  queryPathInfo(storePath: string): ValidPathInfo | undefined {
    const row = this.stmts.queryPathInfo.get(storePath) as PathRow | undefined;
    if (!row) return undefined;
    const info: ValidPathInfo = {
      path: storePath,
      narHash: fromDbHash(row.hash, storePath),
      // A NULL narSize (very old stores) reads as 0, as in Nix.
      narSize: row.narSize ?? 0,
      references: (this.stmts.queryReferences.all(row.id) as string[]).sort(),
      registrationTime: row.registrationTime,
      ultimate: row.ultimate === 1,
      sigs: row.sigs ? row.sigs.split(' ').filter((s) => s !== '') : [],
    };
    if (row.deriver) info.deriver = row.deriver;
    if (row.ca) info.ca = row.ca;
    return info;
  }

  queryReferences(storePath: string): string[] {
    const id = this.queryPathId(storePath);
    return id === undefined ? [] : (this.stmts.queryReferences.all(id) as string[]).sort();
  }

  queryReferrers(storePath: string): string[] {
    return (this.stmts.queryReferrers.all(storePath) as string[]).sort();
  }

  /** The valid derivations that declare `outputPath` as one of their outputs. */
  queryValidDerivers(outputPath: string): string[] {
    return (this.stmts.queryValidDerivers.all(outputPath) as string[]).sort();
  }

  /** Output name → path for a valid derivation; undefined if the .drv is not valid. */
  queryDerivationOutputs(drvPath: string): Map<string, string> | undefined {
    const id = this.queryPathId(drvPath);
    if (id === undefined) return undefined;
    const rows = this.stmts.queryDerivationOutputs.all(id) as { id: string; path: string }[];
    return new Map(rows.map((r) => [r.id, r.path]));
  }

  queryAllValidPaths(): string[] {
    return (this.stmts.queryValidPaths.all() as string[]).sort();
  }

  /** The valid path whose base name starts with hashPart, if any. */
  queryPathFromHashPart(storeDir: string, hashPart: string): string | undefined {
    const prefix = `${storeDir}/${hashPart}`;
    const found = this.stmts.queryPathFromHashPart.get(prefix) as string | undefined;
    return found !== undefined && found.startsWith(prefix) ? found : undefined;
  }

  /**
   * Registers (or updates) several paths in one transaction: rows first,
   * then references (which may point among the new paths), then a cycle
   * check over the new paths' references; any failure rolls everything back.
   */
  registerValidPaths(registrations: PathRegistration[]): void {
    this.writeTransaction(() => {
      const now = Math.floor(Date.now() / 1000);
      for (const { info, derivationOutputs } of registrations) {
        if (this.isValidPath(info.path)) {
          this.updatePathInfo(info);
          continue;
        }
        const result = this.stmts.registerValidPath.run(
          info.path,
          toDbHash(info.narHash),
          info.registrationTime || now,
          info.deriver ?? null,
          info.narSize !== 0 ? info.narSize : null,
          info.ultimate ? 1 : null,
          info.sigs && info.sigs.length > 0 ? info.sigs.join(' ') : null,
          info.ca ?? null,
        );
        if (derivationOutputs) {
          for (const [name, outPath] of derivationOutputs) this.stmts.addDerivationOutput.run(result.lastInsertRowid, name, outPath);
        }
      }
      for (const { info } of registrations) {
        const referrer = this.queryPathId(info.path)!;
        for (const ref of info.references) {
          const reference = this.queryPathId(ref);
          if (reference === undefined) throw new StoreDatabaseError(`path '${ref}' is not valid`);
          this.stmts.addReference.run(referrer, reference);
        }
      }
      checkNoCycles(registrations);
    });
  }

  updatePathInfo(info: ValidPathInfo): void {
    this.stmts.updatePathInfo.run(
      info.narSize !== 0 ? info.narSize : null,
      toDbHash(info.narHash),
      info.ultimate ? 1 : null,
      info.sigs && info.sigs.length > 0 ? info.sigs.join(' ') : null,
      info.ca ?? null,
      info.path,
    );
  }

  /** Removes a path's row (its references and derivation outputs go with it). The caller checks referrers. */
  invalidatePath(storePath: string): void {
    this.stmts.invalidatePath.run(storePath);
  }
}

/** Writes a small file so that it is complete on disk before it is visible (temp name + fsync + rename). */
export function writeFileDurably(file: string, contents: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o666);
  try {
    fs.writeSync(fd, contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Throws Nix's "cycle detected" error if the new paths' references form a cycle (self-references excepted). */
function checkNoCycles(registrations: PathRegistration[]): void {
  const refsOf = new Map(registrations.map((r) => [r.info.path, r.info.references]));
  topoSort(refsOf.keys(), (p) => refsOf.get(p)!,
    (p, parent) => new StoreDatabaseError(`cycle detected in the references of '${p}' from '${parent}'`));
}
