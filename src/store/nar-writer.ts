// The NAR serialiser behind dumpPath (nar.ts) and the parallel dump
// (nar-parallel.ts). It walks the tree with an explicit stack rather than
// recursion, so that a dump can stop between two entries (or between two reads
// of a large file) and be carried on elsewhere: the main thread starts every
// dump, and a large one is handed over to a worker thread mid-way.
//
// defineNarWriter must stay self-contained: the worker runs its source text
// (Function.prototype.toString), so it may use only its parameters and
// globals (Buffer), nothing imported or defined elsewhere in this module.

import type * as NodeFs from 'node:fs';

/** Where a NarWriter's bytes go. */
export interface NarOutput {
  /** Takes the filled part buf[0, len); returns the buffer to carry on in (may be the same one). */
  emit(buf: Buffer, len: number): Buffer;
  /**
   * Offered every regular file, whose node would start at buf[len]. If it
   * takes the file (the node is then written elsewhere, by regularNode,
   * right after buf[0, len)), it returns the buffer to carry on in;
   * otherwise undefined, and the writer writes the node.
   */
  takeRegular?(buf: Buffer, len: number, path: Buffer): Buffer | undefined;
  /**
   * Asked between entries (fileLeft 0) and between reads of a file (fileLeft:
   * its bytes still to write): true stops the writer (see NarWriter.state).
   */
  shouldPause?(fileLeft: number): boolean;
}

/** Entry types as the writer records them (from readdir's d_type). */
export const enum EntryKind {
  Other = 0,
  Regular = 1,
  Directory = 2,
  Symlink = 3,
}

/** Decides whether an entry goes into the archive (main thread only). */
export type EntryFilter = (path: Buffer, kind: EntryKind) => boolean;

/** A directory being written: its entries (sorted, with their kinds) and the index of the next one. */
export interface DirFrame {
  path: Buffer;
  names: Buffer[];
  kinds: EntryKind[];
  next: number;
}

/**
 * Where a paused writer stopped: the open directories, innermost last, and a
 * regular file whose contents are written up to `offset` (its header is out).
 * The file is still open (`fd`): the writer that resumes reads on from the
 * file the header was written for, whatever happened to its path meanwhile
 * (as an uninterrupted dump does), and closes it; threads share descriptors.
 */
export interface NarWriterState {
  stack: DirFrame[];
  file?: { path: Buffer; size: number; offset: number; fd: number };
}

export interface NarWriter {
  /** Writes the archive of `path` from the start; false if it paused (then see state()). */
  begin(path: Buffer): boolean;
  /** Carries on from a state taken from a paused writer; false if it paused again. */
  resume(state: NarWriterState): boolean;
  state(): NarWriterState;
  /** Writes the node of one regular file, parentheses included (one that takeRegular took). */
  regularNode(path: Buffer): void;
  /** Emits what is still in the buffer. */
  flush(): void;
}

export interface NarWriterClass {
  new (buf: Buffer, out: NarOutput, filter?: EntryFilter): NarWriter;
}

export function defineNarWriter(fs: typeof NodeFs, makeError: (message: string) => Error): NarWriterClass {
  // Each NAR string: little-endian u64 length, the bytes, zero padding to 8.
  const narString = (s: string): Buffer => {
    const b = Buffer.alloc(8 + Math.ceil(s.length / 8) * 8);
    b.writeUInt32LE(s.length, 0);
    b.write(s, 8, 'latin1');
    return b;
  };
  const cat = (...items: string[]): Buffer => Buffer.concat(items.map(narString));
  const MAGIC = narString('nix-archive-1');
  const OPEN = narString('(');
  const CLOSE = narString(')');
  const TYPE_REGULAR = cat('type', 'regular');
  const TYPE_DIRECTORY = cat('(', 'type', 'directory');
  const TYPE_SYMLINK = cat('type', 'symlink', 'target');
  const EXECUTABLE = cat('executable', '');
  const CONTENTS = narString('contents');
  const ENTRY_NAME = cat('entry', '(', 'name');
  const NODE = narString('node');
  const SLASH = Buffer.from('/');
  // Opening what readdir said is a regular file: never follow a symlink or
  // block on a FIFO that replaced it meanwhile (fstat then tells).
  const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
  const byName = (a: NodeFs.Dirent<Buffer>, b: NodeFs.Dirent<Buffer>): number => Buffer.compare(a.name, b.name);
  const unsupported = (path: Buffer): Error => makeError(`file '${path.toString('utf8')}' has an unsupported type`);
  const kindOf = (d: NodeFs.Dirent<Buffer> | NodeFs.Stats): EntryKind =>
    d.isFile() ? 1 : d.isDirectory() ? 2 : d.isSymbolicLink() ? 3 : 0;
  /**
   * An entry's type is readdir's, from when its directory was listed, where
   * Nix lstats each entry as it comes to it. So when the first call on an
   * entry fails, the error to report is lstat's if lstat fails too (the entry
   * is gone: Nix says "getting status of"), and the call's own otherwise.
   */
  const firstCall = <T>(path: Buffer, call: () => T): T => {
    try {
      return call();
    } catch (e) {
      fs.lstatSync(path);
      throw e;
    }
  };

  class Writer implements NarWriter {
    private len = 0;
    private stack: DirFrame[] = [];
    private file: NarWriterState['file'];

    constructor(
      private buf: Buffer,
      private readonly out: NarOutput,
      private readonly filter?: EntryFilter,
    ) {}

    begin(path: Buffer): boolean {
      this.raw(MAGIC);
      const kind = kindOf(fs.lstatSync(path));
      if (kind === 2) {
        this.directory(path);
        return this.walk();
      }
      return this.leaf(path, kind);
    }

    resume(state: NarWriterState): boolean {
      this.stack = state.stack;
      const file = state.file;
      if (file) {
        let paused = false;
        try {
          paused = !this.contents(file.fd, file.path, file.size, file.offset);
          if (paused) return false;
        } finally {
          // Paused again: the file stays open for the next writer.
          if (!paused) fs.closeSync(file.fd);
        }
        this.endFile(file.size);
        if (this.stack.length > 0) this.raw(CLOSE);
      }
      return this.walk();
    }

    state(): NarWriterState {
      return this.file ? { stack: this.stack, file: this.file } : { stack: this.stack };
    }

    flush(): void {
      if (this.len > 0) {
        this.buf = this.out.emit(this.buf, this.len);
        this.len = 0;
      }
    }

    /** Entries of the directories on the stack until it is empty (true) or the output asks to pause (false). */
    private walk(): boolean {
      const stack = this.stack;
      const out = this.out;
      while (stack.length > 0) {
        if (out.shouldPause && out.shouldPause(0)) return false;
        const top = stack[stack.length - 1]!;
        if (top.next === top.names.length) {
          stack.pop();
          this.raw(CLOSE);
          // ... and the parent's entry around it.
          if (stack.length > 0) this.raw(CLOSE);
          continue;
        }
        const i = top.next++;
        const name = top.names[i]!;
        const kind = top.kinds[i]!;
        const child = Buffer.concat([top.path, SLASH, name]);
        if (this.filter && !this.filter(child, kind)) continue;
        this.raw(ENTRY_NAME);
        this.bytes(name);
        this.raw(NODE);
        if (kind === 2) {
          this.directory(child);
          continue;
        }
        if (!this.leaf(child, kind)) return false;
        this.raw(CLOSE);
      }
      return true;
    }

    private directory(path: Buffer): void {
      this.raw(TYPE_DIRECTORY);
      // Buffer names keep non-UTF-8 names intact and sort bytewise, as Nix
      // does. The entries' types come with them (d_type; Node lstats where the
      // file system gives none), which saves an lstat per entry.
      const dirents = firstCall(path, () => fs.readdirSync(path, { encoding: 'buffer', withFileTypes: true })).sort(byName);
      const names: Buffer[] = new Array(dirents.length);
      const kinds: EntryKind[] = new Array(dirents.length);
      for (let i = 0; i < dirents.length; i++) {
        const d = dirents[i]!;
        names[i] = d.name;
        kinds[i] = kindOf(d);
      }
      this.stack.push({ path, names, kinds, next: 0 });
    }

    /** A regular file or symlink, parentheses included; false if it paused inside a file. */
    private leaf(path: Buffer, kind: EntryKind): boolean {
      if (kind === 1) {
        const taken = this.out.takeRegular ? this.out.takeRegular(this.buf, this.len, path) : undefined;
        if (taken) {
          this.buf = taken;
          this.len = 0;
          return true;
        }
        this.raw(OPEN);
        return this.regular(path);
      }
      this.raw(OPEN);
      if (kind === 3) {
        this.raw(TYPE_SYMLINK);
        this.bytes(firstCall(path, () => fs.readlinkSync(path, { encoding: 'buffer' })));
        this.raw(CLOSE);
        return true;
      }
      throw unsupported(path);
    }

    regularNode(path: Buffer): void {
      this.raw(OPEN);
      this.regular(path);
    }

    private regular(path: Buffer): boolean {
      // Size and mode from the open file: fstat needs no second path lookup.
      const fd = firstCall(path, () => fs.openSync(path, OPEN_FLAGS));
      let paused = false;
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw unsupported(path);
        const size = st.size;
        this.raw(TYPE_REGULAR);
        if (st.mode & 0o100) this.raw(EXECUTABLE);
        this.raw(CONTENTS);
        this.u64(size);
        paused = !this.contents(fd, path, size, 0);
        if (paused) return false;
        this.endFile(size);
        return true;
      } finally {
        // Paused inside the file: it stays open for whoever resumes (see NarWriterState).
        if (!paused) fs.closeSync(fd);
      }
    }

    private endFile(size: number): void {
      this.pad(size);
      this.raw(CLOSE);
    }

    /** Bytes [offset, size) of an open file, read straight into the buffer; false if it paused. */
    private contents(fd: number, path: Buffer, size: number, offset: number): boolean {
      this.file = undefined;
      let pos = offset;
      while (pos < size) {
        if (this.len === this.buf.length) {
          this.flush();
          if (this.out.shouldPause && this.out.shouldPause(size - pos)) {
            this.file = { path, size, offset: pos, fd };
            return false;
          }
        }
        const want = Math.min(size - pos, this.buf.length - this.len);
        const n = fs.readSync(fd, this.buf, this.len, want, pos);
        if (n === 0) throw makeError(`file '${path.toString('utf8')}' changed size while it was being archived`);
        this.len += n;
        pos += n;
      }
      return true;
    }

    private raw(data: Buffer): void {
      if (this.len + data.length > this.buf.length) {
        this.flush();
        // Longer than the buffer (a huge name or symlink target): in pieces.
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, this.buf.length - this.len);
          data.copy(this.buf, this.len, off, off + n);
          this.len += n;
          off += n;
          if (this.len === this.buf.length) this.flush();
        }
        return;
      }
      data.copy(this.buf, this.len);
      this.len += data.length;
    }

    private u64(n: number): void {
      if (this.len + 8 > this.buf.length) this.flush();
      this.buf.writeUInt32LE(n % 0x100000000, this.len);
      this.buf.writeUInt32LE(Math.floor(n / 0x100000000), this.len + 4);
      this.len += 8;
    }

    private pad(n: number): void {
      const pad = (8 - (n % 8)) % 8;
      if (pad === 0) return;
      if (this.len + pad > this.buf.length) this.flush();
      this.buf.fill(0, this.len, this.len + pad);
      this.len += pad;
    }

    private bytes(b: Buffer): void {
      this.u64(b.length);
      this.raw(b);
      this.pad(b.length);
    }
  }
  return Writer;
}
