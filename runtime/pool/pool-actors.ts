/**
 * The promise actors the pool machines invoke, built over the engine, the store and the slot
 * files. This is the only place where a machine's decision turns into Docker or SQLite work.
 */
import { randomBytes } from 'node:crypto';
import { fromPromise, type ActorOptions, type AnyActorLogic } from 'xstate';
import { containerMachine } from '../../machines/container.machine.ts';
import { poolMachine, type SweepResult } from '../../machines/pool.machine.ts';
import type {
  Assignment,
  ObservedContainer,
  PersistAssignmentInput,
  PersistReleaseInput,
  RecreateInput,
  RecreateOutput,
  RemoveInput,
  SlotSpec,
  StartInput,
} from '../../machines/types.ts';
import { requireTypeSpec, type Config } from '../config.ts';
import type { ContainerEngine, RunSpec } from '../docker/engine.ts';
import type { Logger } from '../logger.ts';
import type { SlotFiles } from './slot-files.ts';
import type { PoolStore } from '../store/pool-store.ts';

export interface PoolDeps {
  config: Config;
  engine: ContainerEngine;
  store: PoolStore;
  files: SlotFiles;
  log: Logger;
  now: () => number;
  /** XState clock for the supervisor's timers; a SimulatedClock in tests. */
  clock?: NonNullable<ActorOptions<AnyActorLogic>['clock']>;
  /** Resolves once the slot's service answers on its published port; rejects if it never does. */
  waitServing?: (slot: SlotSpec, protocol: 'http' | 'ssh') => Promise<unknown>;
  /** The OpenSSH public keys a user saved in their account (ssh type). */
  userKeys?: (userId: number) => Promise<string[]>;
}

export const SSH_LOGIN = 'user';

/**
 * The container options of a slot. An engine that copies files (a cluster: its nodes cannot see
 * this machine's directories) gets no bind mount; the slot's files are copied in after `run`.
 */
export function runSpec(config: Config, files: SlotFiles, slot: SlotSpec, copiesFiles = false): RunSpec {
  const type = requireTypeSpec(config, slot.type);
  return {
    name: slot.name,
    image: type.image,
    hostPort: slot.hostPort,
    containerPort: type.containerPort,
    bind: config.bind,
    labels: {
      pool: 'true',
      'pooldeck.type': slot.type,
      'pooldeck.pool_index': String(slot.index),
      'pooldeck.port': String(slot.hostPort),
    },
    mounts: copiesFiles ? [] : [{ source: files.dir(slot.name), target: type.filesMount, readOnly: type.filesReadOnly }],
    capAdd: type.capAdd,
    memoryBytes: config.limits.memoryBytes,
    nanoCpus: config.limits.nanoCpus,
    pidsLimit: config.limits.pidsLimit,
    logMaxSize: config.limits.logMaxSize,
    ...(slot.node ? { node: slot.node } : {}),
  };
}

const newPassword = () => randomBytes(12).toString('base64url');

/** Run at most `limit` of the given tasks at once, in the order they arrive. */
export function limiter(limit: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

export function providePoolMachine(deps: PoolDeps) {
  const { config, engine, store, files, log, now } = deps;
  const copiesFiles = typeof engine.putFiles === 'function';

  /** Engines without bind mounts: make the container's web root match the slot's directory. */
  async function copyFiles(slot: SlotSpec, containerId: string, replace: boolean) {
    if (!engine.putFiles) return;
    await engine.putFiles(containerId, files.dir(slot.name), requireTypeSpec(config, slot.type).filesMount, { replace });
  }

  async function applyCredentials(slot: SlotSpec, containerId: string, assignment: Assignment): Promise<Assignment> {
    if (requireTypeSpec(config, slot.type).protocol !== 'ssh') return assignment;
    const credentials = assignment.credentials ?? {
      username: SSH_LOGIN,
      password: newPassword(),
      keys: (await deps.userKeys?.(assignment.userId)) ?? [],
    };
    const result = await engine.exec(containerId, ['pooldeck-credentials'], [credentials.password, ...credentials.keys].join('\n') + '\n');
    if (result.exitCode !== 0) throw new Error(`setting ssh credentials failed (exit ${result.exitCode}): ${result.output.trim().slice(0, 200)}`);
    return { ...assignment, credentials };
  }

  // Docker creates containers faster a few at a time than all at once (make bench: boot curve).
  const creating = limiter(config.createParallelism);

  const recreateContainer = fromPromise<RecreateOutput, RecreateInput>(({ input, signal }) => creating(async () => {
    const { slot, containerId, assignment, reason } = input;
    const started = now();
    const type = requireTypeSpec(config, slot.type);
    // The actor may leave its state while this runs (the slot was released or relinquished):
    // then stop before the next side effect, so an abandoned rebuild writes nothing more.
    const stillWanted = () => {
      if (signal.aborted) throw new Error(`${slot.name}: rebuild abandoned`);
    };
    if (containerId) await engine.remove(containerId);
    stillWanted();
    if (reason === 'recover') await files.ensure(slot.name, slot.type, slot.hostPort);
    else {
      await files.reset(slot.name, slot.type, slot.hostPort);
      await store.setCustomFiles(slot.name, false);
    }
    stillWanted();
    const id = await engine.run(runSpec(config, files, slot, copiesFiles), signal);
    // A recovered holder's files must match exactly; a fresh slot only has its welcome page.
    await copyFiles(slot, id, reason === 'recover');
    stillWanted();
    await deps.waitServing?.(slot, type.protocol);
    stillWanted();
    if (assignment) await applyCredentials(slot, id, assignment);
    await store.saveSlot({ spec: slot, image: type.image, containerPort: type.containerPort, containerId: id });
    log.info('container.created', { slot: slot.name, reason, containerId: id.slice(0, 12), ms: now() - started });
    return { containerId: id, finishedAt: now() };
  }));

  const persistAssignment = fromPromise<Assignment, PersistAssignmentInput>(async ({ input }) => {
    const { slot, containerId, relocatedFrom } = input;
    let assignment = input.assignment;
    if (relocatedFrom) {
      // Mark first: a crash mid-copy must leave the slot marked for wiping, never looking clean.
      await store.setCustomFiles(slot.name, true);
      await files.copy(relocatedFrom, slot.name);
      await copyFiles(slot, containerId, true);
      await store.moveAssignment(assignment.id, slot);
    } else {
      assignment = { ...assignment, id: await store.createAssignment(slot, assignment) };
    }
    const withCredentials = await applyCredentials(slot, containerId, assignment);
    if (withCredentials.credentials && withCredentials.credentials !== assignment.credentials) {
      await store.saveCredentials(assignment.id, withCredentials.credentials.password, withCredentials.credentials.keys);
    }
    return withCredentials;
  });

  return poolMachine.provide({
    actors: {
      container: containerMachine.provide({
        actors: {
          startContainer: fromPromise<void, StartInput>(async ({ input }) => {
            await engine.start(input.containerId);
            await deps.waitServing?.(input.slot, requireTypeSpec(config, input.slot.type).protocol);
          }),
          recreateContainer,
          persistAssignment,
          persistRelease: fromPromise<void, PersistReleaseInput>(({ input }) => store.releaseAssignment(input.assignment.id)),
          removeContainer: fromPromise<void, RemoveInput>(async ({ input }) => {
            // By name too: a rebuild that failed half-way may have left a container the actor never learnt of.
            if (input.containerId) await engine.remove(input.containerId);
            await engine.remove(input.slot.name);
            await store.deleteSlot(input.slot.name);
            await files.remove(input.slot.name);
          }),
        },
      }),
      listContainers: fromPromise<SweepResult>(async () => {
        const startedAt = now();
        const [containers, nodes] = await Promise.all([engine.list(), engine.nodes?.()]);
        return { containers, startedAt, finishedAt: now(), dockerCalls: nodes ? 2 : 1, ...(nodes ? { nodes } : {}) };
      }),
      removeOrphans: fromPromise<void, { containers: ObservedContainer[] }>(async ({ input }) => {
        for (const c of input.containers) {
          log.warn('orphan.removed', { name: c.name, containerId: c.id.slice(0, 12) });
          await engine.remove(c.id);
        }
      }),
    },
  });
}
