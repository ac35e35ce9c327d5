// The local store: files under realStoreDir, validity in the SQLite
// database (Nix's schema), temporary roots for the GC, and the write path
// that keeps the store consistent whatever happens to the process.
//
// Every write goes the same way: the contents are produced under a
// temporary name inside the real store directory (same file system, so the
// final rename is atomic), hashed while they are written, canonicalised
// (mtime 1, modes 0444/0555, no setuid/setgid), and only then renamed to
// the final name and registered. The check "is it valid already?", the
// rename and the registration happen inside one SQLite write transaction,
// which serialises tsnix processes; so the final name only ever holds
// complete contents, and a path is valid only after its contents are in
// place. A process killed before the commit leaves at worst complete but
// unregistered contents at the final name (or a temporary directory), which
// the next writer replaces. Replacing something at the final name (leftovers,
// --repair) also takes Nix's per-path flock lock, so that a real Nix process
// writing the same path at that moment is never pulled the rug from under.
// The common case takes no flock (that costs a process per path, see
// path-locks.ts). What it leaves open is one interleaving with a real Nix
// writer of the same path: Nix finds it invalid just before our commit and
// then clears the name to write it afresh, so the path is incomplete until
// that Nix process finishes rewriting it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NixError } from '../../eval/errors.js';
import { HashSink, hashFile, hashString, parseHashAny, parseHashAnyPrefixed, parseHashNonSRIUnprefixed, printHash, hashEquals, type Hash } from '../hash.js';
import { dumpPath, narOfString, hashPath, parseNar, RestoreVisitor, canonicaliseMetadata, type NarEntryType, type PathFilter, type SyncSource } from '../nar.js';
import {
  makeFixedOutputPath,
  makeTextPath,
  isDerivationPath,
  parseStorePath,
  HASH_PART_LEN,
} from '../store-path.js';
import { readDerivation, derivationOutputPath } from '../derivation.js';
import { checkDerivationInvariants, type DrvHash } from '../derivation-hash.js';
import { parseContentAddress, renderContentAddress } from '../content-address.js';
import type { AddPathOptions, Store, ValidPathInfo } from '../store-api.js';
import { StoreDatabase, type PathRegistration } from './database.js';
import { readExport } from '../export-format.js';
import { PathLocks } from './path-locks.js';
import { deleteTree, lexists } from '../fs-tree.js';
import { optimiseNewPath } from '../optimise.js';
import { TempRoots } from './temp-roots.js';
import { nixSysError } from '../../sys-error.js';
import type { LocalStoreConfig } from './store-config.js';
import { decodeBytes, encodeBytes, fsPath } from '../../byte-strings.js';
import { stat } from '../../byte-fs.js';

export class LocalStoreError extends NixError {}

export interface LocalStoreOptions {
  /** Allow the store directory or one of its parents to be a symlink (NIX_IGNORE_SYMLINK_STORE=1). */
  allowSymlinkedStore?: boolean;
  /** Size of db/reserved, the space freed before a GC on a full disk (Nix's reserved-size, 8 MiB). */
  reservedSize?: number;
  fsyncMetadata?: boolean;
  /** auto-optimise-store: hard-link the files of every new path to identical ones in .links. */
  autoOptimise?: boolean;
}

export interface VerifyReport {
  /** True if problems remain (Nix's --verify exits 1 then). */
  errors: boolean;
  /**
   * With repair: the modified paths, for the caller to repair (by building
   * their derivers again: the build layer is above the store).
   */
  toRepair: string[];
}

/**
 * Log lines of long operations go through this, so commands choose where
 * they appear. 'error' lines are complete (Nix prints some errors bare and
 * some with an "error: " prefix); 'warn' lines get "warning: ".
 */
export type StoreLogger = (level: 'info' | 'error' | 'warn', message: string) => void;

let tempCounter = 0;

export class LocalStore implements Store {
  readonly storeDir: string;
  readonly realStoreDir: string;
  readonly stateDir: string;
  readonly logDir: string;
  readonly readOnly = false;
  readonly db: StoreDatabase;
  readonly tempRoots: TempRoots;
  readonly linksDir: string;

  private constructor(readonly config: LocalStoreConfig, db: StoreDatabase, private readonly options: LocalStoreOptions = {}) {
    this.storeDir = config.storeDir;
    this.realStoreDir = config.realStoreDir;
    this.stateDir = config.stateDir;
    this.logDir = config.logDir;
    this.db = db;
    this.tempRoots = new TempRoots(path.join(this.stateDir, 'temproots'));
    this.linksDir = path.join(this.realStoreDir, '.links');
  }

  /** Opens the store, creating its directories and database the way Nix lays them out. */
  static open(config: LocalStoreConfig, options: LocalStoreOptions = {}): LocalStore {
    const { realStoreDir, stateDir } = config;
    try {
      fs.mkdirSync(realStoreDir, { recursive: true });
      fs.mkdirSync(path.join(realStoreDir, '.links'), { recursive: true });
      const profilesDir = path.join(stateDir, 'profiles');
      fs.mkdirSync(profilesDir, { recursive: true });
      fs.mkdirSync(path.join(stateDir, 'temproots'), { recursive: true });
      fs.mkdirSync(path.join(stateDir, 'db'), { recursive: true });
      const gcRootsDir = path.join(stateDir, 'gcroots');
      if (!fs.existsSync(gcRootsDir)) {
        fs.mkdirSync(gcRootsDir, { recursive: true });
        fs.symlinkSync(profilesDir, path.join(gcRootsDir, 'profiles'));
      }
      const user = userName();
      for (const dir of [path.join(profilesDir, 'per-user'), path.join(gcRootsDir, 'per-user')]) {
        fs.mkdirSync(path.join(dir, user), { recursive: true });
        fs.chmodSync(dir, 0o755);
        fs.chmodSync(path.join(dir, user), 0o755);
      }
    } catch (e) {
      throw new LocalStoreError(`creating the store directories: ${(e as Error).message}`);
    }

    if (!(options.allowSymlinkedStore ?? process.env.NIX_IGNORE_SYMLINK_STORE === '1')) {
      for (let p = realStoreDir; p !== '/'; p = path.dirname(p)) {
        if (fs.lstatSync(p).isSymbolicLink())
          throw new LocalStoreError(
            `the path '${p}' is a symlink; this is not allowed for the Nix store and its parent directories`);
      }
    }

    reserveSpace(path.join(stateDir, 'db', 'reserved'), options.reservedSize ?? 8 * 1024 * 1024);
    // Nix holds a shared flock on big-lock while it uses the store and takes
    // it exclusively to migrate the schema; database.ts does the same for
    // its (rare) migrations, so only the file is needed here.
    fs.closeSync(fs.openSync(path.join(stateDir, 'db', 'big-lock'), 'a', 0o600));
    const db = StoreDatabase.open(stateDir, { fsyncMetadata: options.fsyncMetadata });
    return new LocalStore(config, db, options);
  }

  close(): void {
    this.tempRoots.close();
    this.db.close();
  }

  toRealPath(storePath: string): string {
    if (!storePath.startsWith(this.storeDir + '/')) throw new LocalStoreError(`path '${storePath}' is not in the Nix store`);
    return this.realStoreDir + storePath.slice(this.storeDir.length);
  }

  // -------------------------------------------------------------------------
  // Queries

  isValidPath(storePath: string): boolean {
    return this.db.isValidPath(storePath);
  }

  queryPathInfo(storePath: string): ValidPathInfo | undefined {
    return this.db.queryPathInfo(storePath);
  }

  /** Like queryPathInfo but Nix's "path '...' is not valid" error when absent. */
  requirePathInfo(storePath: string): ValidPathInfo {
    const info = this.db.queryPathInfo(storePath);
    if (!info) throw new LocalStoreError(`path '${storePath}' is not valid`);
    return info;
  }

  queryReferrers(storePath: string): string[] {
    return this.db.queryReferrers(storePath);
  }

  queryValidDerivers(storePath: string): string[] {
    return this.db.queryValidDerivers(storePath);
  }

  /** Output name → path of a valid derivation, from the DerivationOutputs table. */
  queryDerivationOutputs(drvPath: string): Map<string, string> {
    const outputs = this.db.queryDerivationOutputs(drvPath);
    if (!outputs) throw new LocalStoreError(`path '${drvPath}' is not valid`);
    return outputs;
  }

  queryAllValidPaths(): string[] {
    return this.db.queryAllValidPaths();
  }

  queryPathFromHashPart(hashPart: string): string | undefined {
    if (hashPart.length !== HASH_PART_LEN) throw new LocalStoreError('invalid hash part');
    return this.db.queryPathFromHashPart(this.storeDir, hashPart);
  }

  addTempRoot(storePath: string): void {
    this.tempRoots.add(storePath);
  }

  // -------------------------------------------------------------------------
  // Adding paths

  addTextToStore(name: string, text: string, references: string[], textHash?: Hash | string, derivationChecked = false): string {
    const hash = textHash ?? hashString('sha256', text);
    const dstPath = makeTextPath(name, hash, references, this.storeDir);
    this.addTempRoot(dstPath);
    if (this.isValidPath(dstPath)) return dstPath;

    const tmp = this.makeTempName();
    try {
      fs.writeFileSync(tmp, encodeBytes(text), { mode: 0o444, flag: 'wx' });
      canonicaliseMetadata(tmp);
      const nar = narOfString(text);
      this.installPath(tmp, {
        path: dstPath,
        narHash: printHash(hashString('sha256', nar), 'base32', true),
        narSize: nar.length,
        references: [...new Set(references)].sort(),
        ca: renderContentAddress({ type: 'text', hash: typeof hash === 'string' ? parseHashNonSRIUnprefixed(hash, 'sha256') : hash }),
      }, { derivationChecked });
    } finally {
      deleteTree(tmp);
    }
    return dstPath;
  }

  addPathToStore(name: string, srcPath: string, options: AddPathOptions): string {
    try {
      return this.copyPathIn(name, srcPath, options);
    } catch (e) {
      // Reading the source failed: say so in Nix's words ("getting status of '/x': No such file or directory").
      throw nixSysError(e) ?? e;
    }
  }

  private copyPathIn(name: string, srcPath: string, options: AddPathOptions): string {
    const references = [...new Set(options.references ?? [])].sort();
    // The filter is the user's function (builtins.path, filterSource): it is
    // asked once per file, as in Nix, though the source may be walked twice.
    const userFilter = options.filter;
    if (userFilter) {
      const answers = new Map<string, boolean>();
      options = { ...options, filter: (p, type) => {
        let keep = answers.get(p);
        if (keep === undefined) answers.set(p, (keep = userFilter(p, type)));
        return keep;
      } };
    }
    // Small sources are usually in the store already (every evaluation
    // re-adds its path literals): hash first and copy only if the path is
    // missing. Large ones are copied first and hashed once, as a copy.
    const preHash = hashSourceWithin(srcPath, options, PREHASH_LIMIT);
    if (preHash !== undefined) {
      const known = makeFixedOutputPath(options.method, this.checkedHash(srcPath, preHash, options), name, this.storeDir, references);
      this.addTempRoot(known);
      if (this.isValidPath(known)) return known;
    }
    const tmp = this.makeTempName();
    try {
      // The copy is what is hashed, so the bytes that are hashed are the
      // bytes that are stored, even if the source changes meanwhile.
      let caHash: Hash;
      let narHash: { hash: Hash; size: number };
      if (options.method === 'recursive') {
        copyTree(srcPath, tmp, options.filter);
        // For sha256 the content hash is the NAR hash; otherwise both come from one pass.
        const narSink = new HashSink('sha256');
        const caSink = options.hashAlgo === 'sha256' ? undefined : new HashSink(options.hashAlgo);
        dumpPath(tmp, (chunk) => {
          narSink.update(chunk);
          caSink?.update(chunk);
        });
        narHash = narSink.finish();
        caHash = caSink ? caSink.finish().hash : narHash.hash;
      } else {
        copyRegularFile(srcPath, tmp);
        caHash = hashFile(options.hashAlgo, tmp);
        narHash = hashPath('sha256', tmp);
      }
      const hash = this.checkedHash(srcPath, caHash, options);
      const dstPath = makeFixedOutputPath(options.method, hash, name, this.storeDir, references);
      this.addTempRoot(dstPath);
      if (this.isValidPath(dstPath)) return dstPath;
      canonicaliseMetadata(tmp);
      this.installPath(tmp, {
        path: dstPath,
        narHash: printHash(narHash.hash, 'base32', true),
        narSize: narHash.size,
        references,
        ca: renderContentAddress({ type: 'fixed', method: options.method, hash }),
      });
      return dstPath;
    } finally {
      deleteTree(tmp);
    }
  }

  /** The content hash, after checking it against the caller's expected hash. */
  private checkedHash(srcPath: string, hash: Hash, options: AddPathOptions): Hash {
    if (options.expectedHash !== undefined) {
      const expected = parseHashAny(options.expectedHash, options.hashAlgo);
      if (!hashEquals(expected, hash))
        throw new LocalStoreError(
          `hash mismatch for '${srcPath}':\n  specified: ${printHash(expected, 'base32', true)}\n  got:       ${printHash(hash, 'base32', true)}`);
    }
    return hash;
  }

  /**
   * Adds a path whose NAR comes from `source` (nix-store --import, binary
   * caches): the archive is restored under a temporary name while its
   * SHA-256 and size are checked against info, then installed. The source
   * is always consumed to the end of the archive, also when the path is
   * already valid; returns false then (nothing was written). `info` may be
   * a function called once the archive has been read, for streams that
   * carry the metadata after the contents (--import); its hash and size are
   * then the ones computed.
   */
  addToStoreFromNar(
    info: ValidPathInfo | ((nar: { narHash: string; narSize: number }) => ValidPathInfo),
    source: SyncSource,
    options: { repair?: boolean } = {},
  ): boolean {
    if (typeof info !== 'function') {
      parseStorePath(info.path, this.storeDir);
      this.addTempRoot(info.path);
      if (!options.repair && this.isValidPath(info.path)) {
        parseNar(source, DISCARDING_VISITOR);
        return false;
      }
    }
    const tmp = this.makeTempName();
    try {
      const narSink = new HashSink('sha256');
      restoreInto(tmp, source, (chunk) => narSink.update(chunk));
      const got = narSink.finish();
      const gotHash = printHash(got.hash, 'base32', true);
      if (typeof info === 'function') {
        info = { ...info({ narHash: gotHash, narSize: got.size }), narHash: gotHash, narSize: got.size };
        parseStorePath(info.path, this.storeDir);
        this.addTempRoot(info.path);
      }
      if (this.isValidPath(info.path) && !options.repair) return false;
      const specified = parseHashAnyPrefixed(info.narHash);
      if (!hashEquals(specified, got.hash))
        throw new LocalStoreError(
          `hash mismatch importing path '${info.path}';\n  specified: ${printHash(specified, 'base32', true)}\n  got:       ${gotHash}`);
      if (info.narSize !== 0 && info.narSize !== got.size)
        throw new LocalStoreError(`size mismatch importing path '${info.path}';\n  specified: ${info.narSize}\n  got:       ${got.size}`);
      if (info.ca) this.checkContentAddress(info, tmp);
      canonicaliseMetadata(tmp);
      this.installPath(tmp, { ...info, narHash: gotHash, narSize: got.size }, options);
      return true;
    } finally {
      deleteTree(tmp);
    }
  }

  /** nix-store --import: adds every path of an export stream; returns them in stream order. */
  importPaths(source: SyncSource): string[] {
    const imported: string[] = [];
    readExport(source, (readTrailer) => {
      this.addToStoreFromNar((nar) => {
        const trailer = readTrailer();
        imported.push(trailer.path);
        return { ...trailer, ...nar };
      }, source);
    });
    return imported;
  }

  /** Nix's "ca hash mismatch importing path" check for content-addressed imports. */
  private checkContentAddress(info: ValidPathInfo, contents: string): void {
    const ca = parseContentAddress(info.ca!);
    let actual: Hash;
    if (ca.type === 'text') actual = hashString('sha256', fs.readFileSync(contents));
    else if (ca.method === 'flat') actual = hashString(ca.hash.algo, fs.readFileSync(contents));
    else actual = hashPath(ca.hash.algo, contents).hash;
    if (!hashEquals(actual, ca.hash))
      throw new LocalStoreError(
        `ca hash mismatch importing path '${info.path}';\n  specified: ${printHash(ca.hash, 'base32', true)}\n  got:       ${printHash(actual, 'base32', true)}`);
  }

  /** Registers paths whose contents are already in place (one transaction). */
  registerValidPaths(infos: ValidPathInfo[]): void {
    this.db.registerValidPaths(infos.map((info) => this.registrationFor(info)));
    for (const info of infos) this.maybeOptimise(info.path);
  }

  /** auto-optimise-store: share the new path's files with identical ones already in the store. */
  private maybeOptimise(storePath: string): void {
    if (!this.options.autoOptimise) return;
    optimiseNewPath(this.realStoreDir, this.linksDir, this.toRealPath(storePath), {
      info: () => {},
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
    });
  }

  private registrationFor(info: ValidPathInfo, derivationChecked = false): PathRegistration {
    if (!isDerivationPath(info.path)) return { info };
    const drv = readDerivation(this, info.path);
    if (!derivationChecked) {
      checkDerivationInvariants(info.path, drv, { storeDir: this.storeDir, readDerivation: (p) => readDerivation(this, p), cache: this.moduloHashes });
    }
    const outputs = new Map<string, string>();
    for (const name of drv.outputs.keys()) {
      const p = derivationOutputPath(drv, name, this.storeDir);
      if (p !== undefined) outputs.set(name, p);
    }
    return { info, derivationOutputs: outputs };
  }

  /** Modulo hashes of the derivations checked so far (their inputs are checked with them). */
  private readonly moduloHashes = new Map<string, DrvHash>();

  /**
   * Moves complete, canonical contents from tmp to info.path and registers
   * them, unless the path became valid meanwhile (then tmp is left for the
   * caller to delete). See the comment at the top of the file.
   */
  private installPath(tmp: string, info: ValidPathInfo, options: InstallOptions = {}): void {
    this.moveIntoPlace(tmp, info, options);
    this.maybeOptimise(info.path);
  }

  private moveIntoPlace(tmp: string, info: ValidPathInfo, options: InstallOptions): void {
    const realPath = this.toRealPath(info.path);
    const registration = () => this.db.registerValidPaths([this.registrationFor(info, options.derivationChecked)]);

    if (!options.repair) {
      const done = this.db.writeTransaction(() => {
        if (this.db.isValidPath(info.path)) return true;
        if (lexists(realPath)) return false;
        try {
          fs.renameSync(tmp, realPath);
        } catch (e) {
          // A directory appeared meanwhile (a real Nix writer, which holds
          // the per-path lock): take the slow path and wait for it.
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
          throw e;
        }
        registerOrMoveBack(registration, realPath, tmp);
        return true;
      });
      if (done) return;
    }

    // Something occupies the final name (a leftover of an interrupted
    // writer, or the path itself when repairing): replace it under the
    // per-path lock, which real Nix writers hold while they write.
    const locks = new PathLocks();
    locks.lockPaths([realPath]);
    let trash: string | undefined;
    try {
      this.db.writeTransaction(() => {
        if (this.db.isValidPath(info.path) && !options.repair) return;
        if (lexists(realPath)) {
          trash = this.makeTempName();
          fs.renameSync(realPath, trash);
        }
        fs.renameSync(tmp, realPath);
        try {
          registerOrMoveBack(registration, realPath, tmp);
        } catch (e) {
          // What was there before stays (a repair that fails loses nothing).
          if (trash) fs.renameSync(trash, realPath);
          trash = undefined;
          throw e;
        }
      });
      locks.setDeletion(true);
    } finally {
      locks.release();
      if (trash) deleteTree(trash);
    }
  }

  /** A fresh name in the real store directory that no store path can have. */
  private makeTempName(): string {
    return path.join(this.realStoreDir, `.tmp-tsnix-${process.pid}-${tempCounter++}-${Math.random().toString(36).slice(2, 8)}`);
  }

  // -------------------------------------------------------------------------
  // Verification

  /**
   * nix-store --verify: drops paths that disappeared (if nothing valid
   * refers to them) and, with checkContents, compares NAR hashes, filling in
   * missing hashes and sizes. Messages are Nix's.
   */
  verifyStore(checkContents: boolean, repair: boolean, log: StoreLogger): VerifyReport {
    let errors = false;
    const toRepair: string[] = [];
    log('info', 'reading the Nix store...');
    const present = new Set(fs.readdirSync(this.realStoreDir));
    log('info', 'checking path existence...');
    const done = new Set<string>();
    const validPaths = new Set<string>();
    const verifyPath = (p: string): void => {
      if (done.has(p)) return;
      done.add(p);
      if (!p.startsWith(this.storeDir + '/')) {
        log('error', `path '${p}' is not in the Nix store`);
        return;
      }
      const base = p.slice(this.storeDir.length + 1);
      if (present.has(base)) {
        validPaths.add(p);
        return;
      }
      let canInvalidate = true;
      for (const referrer of this.db.queryReferrers(p)) {
        if (referrer === p) continue;
        verifyPath(referrer);
        if (validPaths.has(referrer)) canInvalidate = false;
      }
      if (canInvalidate) {
        log('info', `path '${p}' disappeared, removing from database...`);
        this.db.writeTransaction(() => this.db.invalidatePath(p));
      } else {
        log('error', `path '${p}' disappeared, but it still has valid referrers!`);
        errors = true;
      }
    };
    for (const p of this.db.queryAllValidPaths()) verifyPath(p);

    if (checkContents) {
      log('info', 'checking link hashes...');
      for (const link of safeReaddir(this.linksDir)) {
        const linkPath = path.join(this.linksDir, link);
        const hash = printHash(hashPath('sha256', linkPath).hash, 'base32');
        if (hash !== link) {
          log('error', `link '${linkPath}' was modified! expected hash '${link}', got '${hash}'`);
          if (repair) {
            fs.unlinkSync(linkPath);
            log('info', `removed link '${linkPath}'`);
          } else errors = true;
        }
      }
      log('info', 'checking store hashes...');
      for (const p of [...validPaths].sort()) {
        try {
          const info = this.requirePathInfo(p);
          const expected = parseHashAnyPrefixed(info.narHash);
          const current = hashPath(expected.algo, this.toRealPath(p));
          const isNull = expected.bytes.every((b) => b === 0);
          if (!isNull && !hashEquals(expected, current.hash)) {
            log('error', `path '${p}' was modified! expected hash '${printHash(expected, 'base32', true)}', got '${printHash(current.hash, 'base32', true)}'`);
            if (repair) toRepair.push(p);
            else errors = true;
          } else {
            let update = false;
            if (isNull) {
              log('info', `fixing missing hash on '${p}'`);
              info.narHash = printHash(current.hash, 'base32', true);
              update = true;
            }
            if (info.narSize === 0) {
              log('info', `updating size field on '${p}' to ${current.size}`);
              info.narSize = current.size;
              update = true;
            }
            if (update) this.db.writeTransaction(() => this.db.updatePathInfo(info));
          }
        } catch (e) {
          if (this.isValidPath(p)) log('error', `error: ${(e as Error).message}`);
          else log('warn', (e as Error).message);
          errors = true;
        }
      }
    }
    return { errors, toRepair };
  }
}

/** Reads an archive without writing anything (to skip it in a stream). */
const DISCARDING_VISITOR = {
  createDirectory() {},
  createRegularFile() {},
  isExecutable() {},
  receiveContents() {},
  createSymlink() {},
};

/** Parses an archive into a new tree at target, closing the last file even when parsing fails. */
function restoreInto(target: string, source: SyncSource, onBytes: (chunk: Buffer) => void): void {
  const visitor = new RestoreVisitor(target);
  try {
    parseNar(source, visitor, { onBytes });
  } finally {
    visitor.close();
  }
}

/**
 * Sources up to this size are hashed before anything is copied, so that
 * re-adding one that is already valid costs no copy; larger ones are copied
 * first and only the copy is hashed (one hashing pass instead of two).
 */
const PREHASH_LIMIT = 8 * 1024 * 1024;

/** Thrown by the pre-hash sink to stop once the source is known to be large. */
const TOO_LARGE = Symbol('too large to pre-hash');

/**
 * The content hash of a source as addPathToStore ingests it (NAR or flat
 * file contents), or undefined as soon as more than `limit` bytes have been
 * hashed (so a large source is only partly read here, and a small one is
 * walked once, with one filter call per entry).
 */
function hashSourceWithin(srcPath: string, options: AddPathOptions, limit: number): Hash | undefined {
  if (options.method === 'recursive') {
    const sink = new HashSink(options.hashAlgo);
    try {
      dumpPath(srcPath, (chunk) => {
        sink.update(chunk);
        if (sink.size > limit) throw TOO_LARGE;
      }, options.filter);
    } catch (e) {
      if (e === TOO_LARGE) return undefined;
      throw e;
    }
    return sink.finish().hash;
  }
  const st = stat(srcPath);
  if (st.isDirectory()) throw new LocalStoreError('reading from file: Is a directory');
  if (st.size > limit) return undefined;
  return hashFile(options.hashAlgo, srcPath);
}

function narEntryType(st: fs.Stats): NarEntryType {
  if (st.isFile()) return 'regular';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'unknown';
}

const COPY_FLAGS = fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE;

/** Copies a file's bytes with the kernel (copy_file_range / reflink); dst gets src's mode. */
function kernelCopy(src: Buffer | string, dst: Buffer | string): void {
  try {
    fs.copyFileSync(src, dst, COPY_FLAGS);
  } catch (e) {
    // Report a source that cannot be read as opening it would (Nix's wording).
    fs.closeSync(fs.openSync(src, 'r'));
    throw e;
  }
}

/**
 * Copies the tree the NAR of `src` describes to `dst` (which must not
 * exist): directories, regular files with their executable bit, symlinks;
 * the same filter calls and the same refusal of other file types as
 * dumping it. Metadata is canonicalised later.
 */
function copyTree(src: string, dst: string, filter: PathFilter | undefined): void {
  const slash = Buffer.from('/');
  const copyEntry = (from: Buffer, to: Buffer, st: fs.Stats): void => {
    if (st.isFile()) {
      kernelCopy(from, to);
    } else if (st.isDirectory()) {
      fs.mkdirSync(to, { mode: 0o777 });
      for (const name of fs.readdirSync(from, { encoding: 'buffer' })) {
        const child = Buffer.concat([from, slash, name]);
        const cst = fs.lstatSync(child);
        if (filter && !filter(decodeBytes(child), narEntryType(cst))) continue;
        copyEntry(child, Buffer.concat([to, slash, name]), cst);
      }
    } else if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from, { encoding: 'buffer' }), to);
    } else {
      throw new NixError(`file '${decodeBytes(from)}' has an unsupported type`);
    }
  };
  const from = encodeBytes(src);
  copyEntry(from, encodeBytes(dst), fs.lstatSync(from));
}

/** The flat method's copy: the file's bytes only (no executable bit), with Nix's errors for other types. */
function copyRegularFile(src: string, dst: string): void {
  const from = fsPath(src);
  const st = fs.statSync(from);
  // Nix reads the file and fails on whatever is not one with read(2)'s words.
  if (st.isDirectory()) throw new LocalStoreError('reading from file: Is a directory');
  if (!st.isFile()) throw new LocalStoreError(`'${src}' is not a regular file`);
  kernelCopy(from, dst);
  fs.chmodSync(dst, 0o644);
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The user name Nix uses for per-user directories (it asks the passwd database, not $USER). */
function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER || String(process.getuid?.() ?? 'nobody');
  }
}

/** Keeps a file of the given size that can be deleted to free space for the GC on a full disk. */
function reserveSpace(file: string, size: number): void {
  try {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st && st.size === size) return;
    const fd = fs.openSync(file, 'w', 0o600);
    try {
      const chunk = Buffer.alloc(Math.min(size, 1 << 20), 'X');
      for (let written = 0; written < size; ) written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - written));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Best effort, as in Nix.
  }
}

/** The output paths a derivation declares (floating outputs have none yet and are left out, as in Nix). */

interface InstallOptions {
  /** Replace the path even if it is valid (--repair). */
  repair?: boolean;
  /** A .drv that derivationStrict wrote: its invariants hold by construction. */
  derivationChecked?: boolean;
}

/**
 * Registers contents just moved from tmp to realPath; if that fails (a
 * reference that is not valid, say), moves them back first, so that no
 * unregistered file is left under a store path's name.
 */
function registerOrMoveBack(register: () => void, realPath: string, tmp: string): void {
  try {
    register();
  } catch (e) {
    fs.renameSync(realPath, tmp);
    throw e;
  }
}
