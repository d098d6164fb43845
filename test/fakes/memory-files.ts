/** In-memory slot directories with SlotFiles' contract. For model tests of the machines only. */
import { welcomePage } from '../../runtime/pool/slot-files.ts';

export class MemorySlotFiles {
  readonly root = '/memory/slots';
  readonly dirs = new Map<string, Map<string, string>>();

  dir(slotName: string): string {
    if (!/^[a-z0-9_-]+$/i.test(slotName)) throw new Error(`invalid slot name "${slotName}"`);
    return `${this.root}/${slotName}/www`;
  }

  async reset(slotName: string, type: string, hostPort: number): Promise<void> {
    this.dirs.set(slotName, new Map([['index.html', welcomePage(type, slotName, hostPort)]]));
  }

  async ensure(slotName: string, type: string, hostPort: number): Promise<void> {
    if (!this.dirs.has(slotName)) await this.reset(slotName, type, hostPort);
  }

  async copy(from: string, to: string): Promise<void> {
    this.dirs.set(to, new Map(this.dirs.get(from) ?? []));
  }

  async remove(slotName: string): Promise<void> {
    this.dirs.delete(slotName);
  }

  async slotNames(): Promise<string[]> {
    return [...this.dirs.keys()];
  }

  async list(slotName: string): Promise<string[]> {
    return [...(this.dirs.get(slotName)?.keys() ?? [])].sort();
  }

  /** What a holder does through the files API. */
  write(slotName: string, file: string, content: string) {
    this.dirs.get(slotName)?.set(file, content);
  }

  read(slotName: string, file: string): string | undefined {
    return this.dirs.get(slotName)?.get(file);
  }
}
