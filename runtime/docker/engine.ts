/**
 * The container engine as the pool sees it: a handful of calls, all scoped to one pool's label.
 *
 * Contract:
 * - `list()` is ONE call to the engine and returns every container of this pool, running or not.
 * - `run()` creates and starts a container and returns its id; a leftover container holding the
 *   same name is removed first, so a slot never has two containers.
 * - `remove()` is forced and idempotent: removing something already gone is not an error.
 * - `watch()` delivers die/stop/oom/destroy news of this pool's containers as it happens, and
 *   reconnects by itself when the engine restarts; it returns a function that stops watching.
 * - Errors carry the container id or name they concern (`EngineError`).
 */
import type { ObservedContainer } from '../../machines/types.ts';

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface RunSpec {
  name: string;
  image: string;
  hostPort: number;
  containerPort: number;
  bind: string;
  labels: Record<string, string>;
  mounts: Mount[];
  capAdd: string[];
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  logMaxSize: string;
}

export interface EngineEvent {
  action: 'die' | 'stop' | 'oom' | 'destroy';
  containerId: string;
  name: string;
  at: number;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

export interface ContainerEngine {
  ping(): Promise<void>;
  list(): Promise<ObservedContainer[]>;
  run(spec: RunSpec): Promise<string>;
  start(id: string): Promise<void>;
  remove(idOrName: string): Promise<void>;
  exec(id: string, cmd: string[], stdin?: string): Promise<ExecResult>;
  watch(onEvent: (event: EngineEvent) => void, onState?: (connected: boolean, error?: string) => void): () => void;
  hasImage(image: string): Promise<boolean>;
}

export class EngineError extends Error {
  constructor(
    readonly target: string,
    message: string,
    readonly statusCode?: number,
  ) {
    super(`${target}: ${message}`);
  }
}
