/**
 * Files into a container on any node, through that node's Docker API: a tar archive uploaded with
 * `PUT /containers/{id}/archive` (dockerd unpacks it, whatever the container's capabilities),
 * and a root `rm` through exec to take files out. The control plane keeps the master copy in
 * the slot's directory; these calls make a container's web root match it.
 *
 * Every file lands owned by root with mode 0644 in a root-owned directory, so the image's own
 * user (and the ssh holder) can read but never write the web root.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { EngineError } from './engine.ts';

export interface TarFile {
  name: string;
  data: Buffer;
  mtime: number;
}

function header(name: string, size: number, mtime: number, type: '0' | 'x'): Buffer {
  const block = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) => block.write(value, offset, length, 'utf8');
  const octal = (value: number, offset: number, length: number) => field(value.toString(8).padStart(length - 1, '0') + '\0', offset, length);
  field(name.slice(0, 100), 0, 100);
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(Math.floor(mtime / 1000), 136, 12);
  field('        ', 148, 8);
  field(type, 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  field('root', 265, 32);
  field('root', 297, 32);
  let sum = 0;
  for (const byte of block) sum += byte;
  field(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return block;
}

const pad = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** A ustar archive of flat files (PAX header for names over 100 bytes), owned by root, mode 0644. */
export function tarOf(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    if (Buffer.byteLength(file.name) > 100) {
      const record = (len: number) => `${len} path=${file.name}\n`;
      let length = Buffer.byteLength(record(0));
      while (Buffer.byteLength(record(length)) !== length) length = Buffer.byteLength(record(length));
      const pax = Buffer.from(record(length));
      parts.push(header('PaxHeader', pax.length, file.mtime, 'x'), pax, pad(pax.length));
    }
    parts.push(header(file.name, file.data.length, file.mtime, '0'), file.data, pad(file.data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The regular files of a flat directory (all of them, or those named). */
export async function readFlatDir(dir: string, names?: string[]): Promise<TarFile[]> {
  const wanted = names ?? (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const files: TarFile[] = [];
  for (const name of wanted) {
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => null);
    if (info?.isFile()) files.push({ name, data: await readFile(file), mtime: info.mtimeMs });
  }
  return files;
}

const describe = (error: unknown) => (error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error);

/** Run a command as root in the container and wait for it; a non-zero exit is an error. */
export async function rootExec(docker: Docker, containerId: string, cmd: string[]): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, User: '0', AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new EngineError(containerId, `${cmd[0]} exited ${info.ExitCode}: ${Buffer.concat(chunks).toString('utf8').replace(/[\x00-\x08]/g, '').trim().slice(0, 200)}`);
}

/** Copy files of `sourceDir` into `targetDir` of a running container; `replace` empties it first. */
export async function putFiles(docker: Docker, containerId: string, sourceDir: string, targetDir: string, options: { names?: string[]; replace?: boolean } = {}): Promise<void> {
  const files = await readFlatDir(sourceDir, options.names);
  try {
    if (options.replace) await rootExec(docker, containerId, ['find', targetDir, '-mindepth', '1', '-delete']);
    if (files.length) await docker.getContainer(containerId).putArchive(tarOf(files), { path: targetDir });
  } catch (error) {
    if (error instanceof EngineError) throw error;
    throw new EngineError(containerId, `copying files failed: ${describe(error)}`, (error as { statusCode?: number }).statusCode);
  }
}

export async function deleteFiles(docker: Docker, containerId: string, targetDir: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await rootExec(docker, containerId, ['rm', '-f', '--', ...names.map((n) => path.posix.join(targetDir, path.posix.basename(n)))]);
}
