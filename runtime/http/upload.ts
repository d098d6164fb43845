/**
 * Files in a slot's directory (bind-mounted read-only into its container, served live).
 *
 * Upload contract: multipart/form-data with one or more file parts. Every part is streamed into
 * a fresh temp directory under the data dir (same filesystem as the slots), and only when the
 * whole request has been read and every rule holds — name, extension, per-file size, file count,
 * the directory's total after the upload, the caller still holding the slot — are the temps
 * renamed into place (mode 0644). Any refusal deletes the temps: a refused upload writes nothing.
 * Flat directory: no sub-directories.
 *
 * Disk budget while receiving (so temp space is bounded too, not only the result): the bytes of
 * every upload in flight to a slot, plus what the slot holds, stay within the slot's limit; the
 * bytes in flight of one user stay within one slot's limit; a body that sends nothing for
 * `idleTimeoutMs` is ended (408); and no upload may eat into the free-space reserve of the data
 * disk kept for SQLite (507).
 */
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Request } from 'express';
import busboy from 'busboy';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { RequestError } from './request-error.ts';
import type { FileMirror } from '../pool/file-mirror.ts';
import type { SlotFiles } from '../pool/slot-files.ts';
import type { PoolStore } from '../store/pool-store.ts';

export interface FileEntry {
  name: string;
  size: number;
  modified: string;
}

const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;
const printable = (raw: string) => JSON.stringify(raw.slice(0, 80)).replace(/\\u0000/g, '\\0');

/** The file name as given, or a 400: no paths, no NUL, no leading dot, a small alphabet. */
export function checkFileName(raw: string): string {
  if (raw.includes('\0') || raw.includes('/') || raw.includes('\\') || raw === '.' || raw === '..' || /^[A-Za-z]:/.test(raw)) {
    throw new RequestError(400, `the file name ${printable(raw)} would leave the container's directory; send plain file names only`);
  }
  if (!NAME_RE.test(raw) || raw.startsWith('.')) {
    throw new RequestError(400, `the file name ${printable(raw)} is not allowed: use 1-128 letters, digits, ".", "_" or "-", not starting with "."`);
  }
  return raw;
}

export function checkExtension(name: string, allowed: string[], type: string): void {
  const ext = path.extname(name).toLowerCase();
  if (!allowed.includes(ext)) {
    throw new RequestError(400, `files of type "${ext || '(no extension)'}" cannot be uploaded to a ${type} container; allowed: ${allowed.join(' ')}`);
  }
}

interface Received {
  name: string;
  temp: string;
  size: number;
}

/** One upload while it is received: its bytes so far and the stored bytes it replaces. */
interface InFlight {
  slot: string;
  userId: number;
  bytes: number;
  replaces: number;
}

const LOW_DISK = 'the server is low on disk space; uploads are refused until an admin frees some';
const lowDisk = () => new RequestError(507, LOW_DISK);

export class SlotUploads {
  private readonly tempRoot: string;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<InFlight>();

  constructor(
    private readonly config: Config,
    private readonly files: SlotFiles,
    private readonly store: PoolStore,
    private readonly log: Logger,
    /** Engines without bind mounts: repeat each change in the slot's container. */
    private readonly mirror?: FileMirror,
  ) {
    this.tempRoot = path.join(config.dataDir, 'tmp', 'uploads');
  }

  /** Remove temps a crash left behind. */
  async init(): Promise<void> {
    await rm(this.tempRoot, { recursive: true, force: true });
    await mkdir(this.tempRoot, { recursive: true, mode: 0o700 });
  }

  async list(slotName: string): Promise<FileEntry[]> {
    const dir = this.files.dir(slotName);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: FileEntry[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const info = await stat(path.join(dir, entry.name)).catch(() => null);
      if (info) out.push({ name: entry.name, size: info.size, modified: info.mtime.toISOString() });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(slotName: string, rawName: string): Promise<void> {
    const name = checkFileName(rawName);
    await this.locked(slotName, async () => {
      try {
        await unlink(path.join(this.files.dir(slotName), name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new RequestError(404, `no such file: ${name}`);
        throw error;
      }
      await this.mirror?.remove(slotName, name);
    });
  }

  /** Bytes of all uploads in flight (for tests and metrics). */
  get bytesInFlight(): number {
    let n = 0;
    for (const u of this.inFlight) n += u.bytes;
    return n;
  }

  /** Free bytes on the data disk for this process. */
  private async freeBytes(): Promise<number> {
    const fs = await statfs(this.tempRoot);
    return fs.bavail * fs.bsize;
  }

  /** Receive, check, and then move into place; `stillOwned` is asked right before the move. */
  async upload(req: Request, slot: { name: string; type: string }, stillOwned: () => boolean, userId = 0): Promise<Array<{ name: string; size: number }>> {
    if (!/^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '')) {
      throw new RequestError(415, 'send the files as multipart/form-data (one file part per file)');
    }
    const { maxTotalBytes, maxFiles, diskReserveBytes } = this.config.upload;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxTotalBytes + maxFiles * 1024 + 64 * 1024) {
      req.resume();
      throw Object.assign(new RequestError(413, `the upload is larger than the ${maxTotalBytes}-byte limit of a container's files`), { closeConnection: true });
    }
    await mkdir(this.tempRoot, { recursive: true, mode: 0o700 });
    if (diskReserveBytes > 0 && (await this.freeBytes()) - (Number.isFinite(declared) ? declared : 0) < diskReserveBytes) {
      this.log.warn('upload.low_disk', { slot: slot.name, reserve: diskReserveBytes });
      req.resume();
      throw Object.assign(lowDisk(), { closeConnection: true });
    }
    const storedFiles = new Map((await this.list(slot.name)).map((f) => [f.name, f.size]));
    const stored = [...storedFiles.values()].reduce((n, size) => n + size, 0);
    const flight: InFlight = { slot: slot.name, userId, bytes: 0, replaces: 0 };
    this.inFlight.add(flight);
    const temp = await mkdtemp(path.join(this.tempRoot, 'u-'));
    try {
      const received = await this.receive(req, slot, temp, flight, storedFiles, stored);
      if (received.length === 0) throw new RequestError(400, 'the upload holds no files (send them as file parts of a multipart/form-data body)');
      return await this.locked(slot.name, async () => {
        if (!stillOwned()) throw new RequestError(404, 'no such container');
        await this.commit(slot.name, received);
        await this.store.setCustomFiles(slot.name, true);
        await this.mirror?.put(slot.name, received.map((r) => r.name));
        this.log.info('upload.done', { slot: slot.name, files: received.length, bytes: received.reduce((n, r) => n + r.size, 0) });
        return received.map(({ name, size }) => ({ name, size }));
      });
    } finally {
      this.inFlight.delete(flight);
      await rm(temp, { recursive: true, force: true });
    }
  }

  /** Why this upload may not take `more` bytes now, or null when it may. */
  private overBudget(flight: InFlight, stored: number): RequestError | null {
    const { maxTotalBytes } = this.config.upload;
    let slotBytes = 0;
    let userBytes = 0;
    for (const u of this.inFlight) {
      if (u.slot === flight.slot) slotBytes += u.bytes;
      if (u.userId === flight.userId) userBytes += u.bytes;
    }
    if (stored - flight.replaces + slotBytes > maxTotalBytes) {
      return new RequestError(413, slotBytes > flight.bytes
        ? `the uploads in progress to this container and its files would exceed its ${maxTotalBytes}-byte limit; upload one batch at a time`
        : `after this upload the container's files would total ${stored - flight.replaces + slotBytes} bytes; the limit is ${maxTotalBytes}`);
    }
    if (flight.userId !== 0 && userBytes > maxTotalBytes) {
      return new RequestError(413, `your uploads in progress together exceed ${maxTotalBytes} bytes; wait for one to finish`);
    }
    return null;
  }

  private async commit(slotName: string, received: Received[]): Promise<void> {
    const { maxTotalBytes, maxFiles } = this.config.upload;
    const dir = this.files.dir(slotName);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const incoming = new Set(received.map((r) => r.name));
    const kept = (await this.list(slotName)).filter((f) => !incoming.has(f.name));
    const total = kept.reduce((n, f) => n + f.size, 0) + received.reduce((n, r) => n + r.size, 0);
    if (total > maxTotalBytes) throw new RequestError(413, `after this upload the container's files would total ${total} bytes; the limit is ${maxTotalBytes}`);
    if (kept.length + received.length > maxFiles) throw new RequestError(413, `after this upload the container would hold ${kept.length + received.length} files; the limit is ${maxFiles}`);
    for (const r of received) {
      await chmod(r.temp, 0o644);
      await rename(r.temp, path.join(dir, r.name));
    }
  }

  private receive(req: Request, slot: { name: string; type: string }, temp: string, flight: InFlight, storedFiles: Map<string, number>, stored: number): Promise<Received[]> {
    const { maxFileBytes, maxFiles, maxTotalBytes, idleTimeoutMs, diskReserveBytes } = this.config.upload;
    const type = slot.type;
    const spec = this.config.types[type];
    if (!spec) return Promise.reject(new RequestError(400, `unknown container type "${type}"`));
    const allowed = spec.uploadExtensions;
    return new Promise<Received[]>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({
          headers: req.headers,
          preservePath: true,
          // busboy reports a file that reaches fileSize as over it; the limit is inclusive.
          limits: { fileSize: maxFileBytes + 1, files: maxFiles, fields: 20, fieldSize: 4096, parts: maxFiles + 20, headerPairs: 20 },
        });
      } catch (error) {
        reject(new RequestError(400, `malformed multipart request: ${(error as Error).message}`));
        return;
      }
      const received: Received[] = [];
      const writes: Promise<void>[] = [];
      const active = new Set<{ destroy(): void }>();
      const names = new Set<string>();
      let total = 0;
      let failure: unknown = null;
      let settled = false;

      let idle: NodeJS.Timeout | null = null;
      let sinceDiskCheck = 0;
      const settle = () => {
        if (settled) return;
        settled = true;
        if (idle) clearTimeout(idle);
        void Promise.allSettled(writes).then(() => (failure ? reject(failure) : resolve(received)));
      };
      const stalled = () => {
        this.log.warn('upload.stalled', { slot: slot.name, ms: idleTimeoutMs });
        fail(Object.assign(new RequestError(408, `the upload sent nothing for ${Math.round(idleTimeoutMs / 1000)} s and was ended`), { closeConnection: true }));
        settle(); // a stalled client never ends its body: answer now, the connection closes after
      };
      const watch = () => {
        if (idle) clearTimeout(idle);
        if (!settled) idle = setTimeout(stalled, idleTimeoutMs);
      };
      watch();
      req.on('data', (chunk: Buffer) => {
        if (failure) return;
        watch();
        sinceDiskCheck += chunk.length;
        if (diskReserveBytes > 0 && sinceDiskCheck >= 4 * 1024 * 1024) {
          sinceDiskCheck = 0;
          this.freeBytes().then(
            (free) => free < diskReserveBytes && fail(lowDisk()),
            () => undefined,
          );
        }
      });
      const fail = (error: unknown) => {
        if (failure) return;
        failure = error;
        if (idle) clearTimeout(idle);
        req.unpipe(parser);
        for (const stream of active) stream.destroy();
        // Read and discard the rest so the client sees our answer rather than a reset, unless it
        // keeps sending far more than any valid upload could hold.
        let discarded = 0;
        req.on('data', (chunk: Buffer) => {
          discarded += chunk.length;
          if (discarded > maxTotalBytes + 1024 * 1024 && !settled) {
            Object.assign(error as object, { closeConnection: true });
            settle();
          }
        });
        req.resume();
        if (req.readableEnded || req.destroyed) settle();
        else {
          req.once('end', settle);
          req.once('close', settle); // an aborted request never ends
        }
      };

      req.once('aborted', () => fail(new RequestError(400, 'the upload was aborted')));
      req.once('error', () => fail(new RequestError(400, 'the upload was aborted')));
      parser.on('file', (_field, stream: Readable & { truncated?: boolean }, info) => {
        if (failure) return void stream.resume();
        let name: string;
        try {
          name = checkFileName(info.filename ?? '');
          checkExtension(name, allowed, type);
          if (names.has(name)) throw new RequestError(400, `the upload holds "${name}" twice`);
        } catch (error) {
          stream.resume();
          return fail(error);
        }
        names.add(name);
        flight.replaces += storedFiles.get(name) ?? 0;
        const target = path.join(temp, String(writes.length));
        const out = createWriteStream(target, { flags: 'wx', mode: 0o644 });
        const pair = { destroy: () => { stream.destroy(); out.destroy(); } };
        active.add(pair);
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          total += chunk.length;
          flight.bytes += chunk.length;
          if (size > maxFileBytes) return fail(new RequestError(413, `"${name}" is larger than the ${maxFileBytes}-byte limit per file`));
          if (total > maxTotalBytes) return fail(new RequestError(413, `the upload is larger than the ${maxTotalBytes}-byte limit of a container's files`));
          const over = this.overBudget(flight, stored);
          if (over) fail(over);
        });
        stream.on('limit', () => fail(new RequestError(413, `"${name}" is larger than the ${maxFileBytes}-byte limit per file`)));
        writes.push(
          pipeline(stream, out).then(
            () => {
              active.delete(pair);
              if (stream.truncated) fail(new RequestError(413, `"${name}" is larger than the ${maxFileBytes}-byte limit per file`));
              else received.push({ name, temp: target, size });
            },
            (error) => {
              active.delete(pair);
              fail(failure ? failure : error);
            },
          ),
        );
      });
      parser.on('filesLimit', () => fail(new RequestError(413, `too many files in one upload; the limit is ${maxFiles}`)));
      parser.on('partsLimit', () => fail(new RequestError(413, 'too many parts in the multipart body')));
      parser.on('fieldsLimit', () => fail(new RequestError(413, 'too many form fields in the upload')));
      parser.on('error', (error: Error) => fail(new RequestError(400, `malformed multipart request: ${error.message}`)));
      parser.on('close', () => {
        if (!failure) settle();
      });
      req.pipe(parser);
    });
  }

  private locked<T>(slotName: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(slotName) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(slotName, tail);
    void tail.then(() => {
      if (this.locks.get(slotName) === tail) this.locks.delete(slotName);
    });
    return run;
  }
}
