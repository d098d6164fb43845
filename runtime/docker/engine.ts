/**
 * The container engine as the pool sees it: a handful of calls, all scoped to one pool's label.
 *
 * Contract:
 * - `list()` is ONE call to the engine and returns every container of this pool, running or not.
 * - `run()` creates and starts a container and returns its id; a leftover container of this pool
 *   holding the same name is removed first, so a slot never has two containers. A container of
 *   anyone else holding the name is never removed: `run()` fails with a 409 EngineError.
 * - `remove()` is forced and idempotent: removing something already gone is not an error.
 * - `stop()` stops a running container (SIGTERM, then SIGKILL after a few seconds); stopping one
 *   already stopped is not an error. The pool learns of it through `watch()` like any death.
 * - `watch()` delivers die/stop/oom/destroy news of this pool's containers as it happens, and
 *   reconnects by itself when the engine restarts; it returns a function that stops watching.
 *   An `oom` alone is not news of a death (the OOM killer may take a child process and leave
 *   PID 1 alive); a container that stopped for it sends `die` as well.
 * - Errors carry the container id or name they concern (`EngineError`).
 *
 * Cluster engines (Docker Swarm, runtime/docker/swarm-engine.ts) keep that contract with a slot
 * as a one-replica service pinned to `RunSpec.node`; the container id is its task's container.
 * They also implement the optional members below: `nodes()` is ONE call listing the nodes,
 * `watchNodes()` reports node state changes as they happen, and since a remote node cannot see
 * the control plane's directories they take no bind mounts and copy files with `putFiles()` /
 * `deleteFiles()` instead. `start()` may refuse (a finished task is not restarted): the caller
 * then recreates. The single-host engine implements none of them and bind-mounts the files.
 */
import type { NodeStatus, ObservedContainer } from '../../machines/types.ts';

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
  /** Cluster engines: the node the container must run on. */
  node?: string;
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
  /** `signal`: the caller gave the start up (an engine that waits for it may stop waiting). */
  run(spec: RunSpec, signal?: AbortSignal): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  remove(idOrName: string): Promise<void>;
  exec(id: string, cmd: string[], stdin?: string): Promise<ExecResult>;
  watch(onEvent: (event: EngineEvent) => void, onState?: (connected: boolean, error?: string) => void): () => void;
  hasImage(image: string): Promise<boolean>;

  // ---- cluster engines only ----
  nodes?(): Promise<NodeStatus[]>;
  watchNodes?(onNodes: (nodes: NodeStatus[]) => void): () => void;
  /** Copy files of `sourceDir` (all, or `names`) into `targetDir` of a running container; `replace` empties it first. */
  putFiles?(containerId: string, sourceDir: string, targetDir: string, options?: { names?: string[]; replace?: boolean }): Promise<void>;
  deleteFiles?(containerId: string, targetDir: string, names: string[]): Promise<void>;
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
