/**
 * The per-slot directory on the host that is bind-mounted into the slot's container.
 * It outlives the container (so a rebuilt container serves the same files) and is wiped
 * when the slot is handed back, so nothing of a previous holder survives.
 */
import { chmod, cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class SlotFiles {
  constructor(readonly root: string) {}

  dir(slotName: string): string {
    if (!/^[a-z0-9_-]+$/i.test(slotName)) throw new Error(`invalid slot name "${slotName}"`);
    return path.join(this.root, slotName, 'www');
  }

  /** Empty the directory and put the type's welcome page in it. */
  async reset(slotName: string, type: string, hostPort: number): Promise<void> {
    const dir = this.dir(slotName);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'index.html'), welcomePage(type, slotName, hostPort), { mode: 0o644 });
  }

  async ensure(slotName: string, type: string, hostPort: number): Promise<void> {
    try {
      await stat(this.dir(slotName));
    } catch {
      await this.reset(slotName, type, hostPort);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const target = this.dir(to);
    await rm(target, { recursive: true, force: true });
    await cp(this.dir(from), target, { recursive: true });
  }

  async remove(slotName: string): Promise<void> {
    await rm(path.dirname(this.dir(slotName)), { recursive: true, force: true });
  }

  /** The slots that have a directory here, whether or not any slot of the pool still has that name. */
  async slotNames(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && /^[a-z0-9_-]+$/i.test(e.name)).map((e) => e.name);
    } catch {
      return [];
    }
  }

  async list(slotName: string): Promise<string[]> {
    try {
      return await readdir(this.dir(slotName));
    } catch {
      return [];
    }
  }
}

export function welcomePage(type: string, slotName: string, hostPort: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pooldeck ${type}</title></head>
<body><h1>Pooldeck ${type} container</h1>
<p>This is <code>${slotName}</code> on port ${hostPort}. Upload files from the dashboard to replace this page.</p>
</body></html>
`;
}
