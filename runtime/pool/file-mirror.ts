/**
 * Uploads on an engine without bind mounts (a Swarm): after the slot's directory (the master
 * copy) changed, the same change is made in the slot's running container through its node's
 * Docker API. A container being rebuilt gets the whole directory when it is back, so a failed
 * copy only matters while the slot is serving from the container it was meant for.
 */
import type { Config } from '../config.ts';
import type { ContainerEngine } from '../docker/engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from './pool-runtime.ts';
import { RequestError } from '../http/request-error.ts';
import type { SlotFiles } from './slot-files.ts';

export interface FileMirror {
  put(slotName: string, names: string[]): Promise<void>;
  remove(slotName: string, name: string): Promise<void>;
}

export function fileMirror(runtime: PoolRuntime, engine: ContainerEngine, files: SlotFiles, config: Config, log: Logger): FileMirror | undefined {
  const { putFiles, deleteFiles } = engine;
  if (!putFiles || !deleteFiles) return undefined;
  const serving = (name: string) => runtime.slots().find((s) => s.name === name && s.phase === 'serving' && s.containerId);
  const mirror = async (slotName: string, what: string, change: (containerId: string, target: string) => Promise<void>) => {
    const slot = serving(slotName);
    if (!slot) return; // being rebuilt: it gets the whole directory when it is back
    try {
      await change(slot.containerId!, config.types[slot.type]!.filesMount);
    } catch (error) {
      const now = serving(slotName);
      if (now?.containerId !== slot.containerId) return; // rebuilt meanwhile, from the master copy
      log.error('files.mirror_failed', { slot: slotName, what, error: String(error) });
      throw new RequestError(503, 'the files are stored but the container could not be updated; it will serve them once it is rebuilt');
    }
  };
  return {
    put: (slotName, names) => mirror(slotName, 'put', (id, target) => putFiles.call(engine, id, files.dir(slotName), target, { names })),
    remove: (slotName, name) => mirror(slotName, 'delete', (id, target) => deleteFiles.call(engine, id, target, [name])),
  };
}
