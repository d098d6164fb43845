/**
 * The pool supervisor. It spawns one container actor per slot, decides every launch inside its
 * own event loop (so two launches can never pick the same slot), relocates assignments whose
 * slot cannot be rebuilt, and owns the health-check interval. It talks to the outside world
 * only through `emit` (read by the runtime) and two promise actors: `listContainers` (one
 * Docker list call per sweep) and `removeOrphans`.
 */
import { assign, emit, enqueueActions, fromPromise, setup } from 'xstate';
import { containerMachine } from './container.machine.ts';
import type { AssignCause, ContainerEvent, ContainerInput, PoolEmitted, PoolEvent, PoolInput, SweepResult } from './events.ts';
import { chooseSlot, diffSweep, planResize, type Reservation } from './pool.logic.ts';
import { planExpiry, planRefill, type ElasticPolicy, type ExpiryPolicy } from './pool.policy.ts';
import { capacityOf, nodesOf, onStayingNodes, planNodeLoss, planNodeResize, type Nodes } from './pool.nodes.ts';
import { errorText, type Assignment, type ObservedContainer, type SlotSpec, type SlotView, type TypeRange } from './types.ts';

export interface PoolContext {
  slots: Record<string, SlotView>;
  reserved: Record<string, Reservation>;
  ranges: Record<string, TypeRange>;
  healthIntervalMs: number;
  perUserLimit: number;
  monitorPaused: boolean;
  retryBaseMs: number;
  maxInPlaceAttempts: number;
  sweeps: number;
  expiry: ExpiryPolicy;
  elastic: Record<string, ElasticPolicy>;
  baseSizes: Record<string, number>;
  /** Last activity per assignment id (ms), fed by `pool.touch`. */
  activity: Record<number, number>;
  /** Deadline each assignment was last warned about. */
  warned: Record<number, number>;
  /** The current incarnation of each slot name; reports of older incarnations are stale. */
  generations: Record<string, number>;
  nextGeneration: number;
  /** Cluster engines: the nodes and their states; empty on a single engine. */
  nodes: Nodes;
}

/** Whether an assignment is being moved away from slot `name`. */
const moving = (reserved: Record<string, Reservation>) => (name: string) =>
  Object.values(reserved).some((r) => r.cause.kind === 'relocation' && r.cause.from === name);

interface SpawnEnqueue {
  spawnChild(src: 'container', options: { id: string; input: ContainerInput }): void;
  assign(assignment: Partial<{ [K in keyof PoolContext]: (args: { context: PoolContext }) => PoolContext[K] }>): void;
}

/** One container actor per input, with the pool's retry settings and a fresh generation. */
function spawnContainers(enqueue: SpawnEnqueue, context: PoolContext, inputs: ContainerInput[]) {
  const generations: Record<string, number> = {};
  inputs.forEach((input, i) => {
    const generation = context.nextGeneration + i;
    generations[input.slot.name] = generation;
    enqueue.spawnChild('container', {
      id: input.slot.name,
      input: { retryBaseMs: context.retryBaseMs, maxInPlaceAttempts: context.maxInPlaceAttempts, ...input, generation },
    });
  });
  enqueue.assign({
    generations: ({ context: current }) => ({ ...current.generations, ...generations }),
    nextGeneration: ({ context: current }) => Math.max(current.nextGeneration, context.nextGeneration + inputs.length),
  });
}

interface PoolEnqueue extends SpawnEnqueue {
  sendTo(to: string, event: ContainerEvent): void;
  emit(event: PoolEmitted): void;
}

/**
 * Take free slots out of the pool. The pool marks them retiring in its own map at once, so no
 * launch, resize or refill decided after this counts or picks them; their indexes stay taken
 * until their actors report `slot.retired`.
 */
function retireSlots(enqueue: PoolEnqueue, context: PoolContext, names: string[]) {
  for (const name of names) {
    const current = context.slots[name];
    if (!current || current.phase === 'retiring') continue;
    const slot: SlotView = { ...current, state: 'stopped', phase: 'retiring' };
    enqueue.assign({ slots: ({ context: now }) => ({ ...now.slots, [name]: slot }) });
    enqueue.sendTo(name, { type: 'slot.retire' });
    enqueue.emit({ type: 'slot.updated', slot });
  }
}

/**
 * Fixed-size types move towards the size last asked for: slots kept for their holders go once
 * free, and slots a resize could not add yet (their indexes were still retiring) are added.
 * Elastic types only grow back to their base size here; `refill` handles the rest.
 */
function converge(enqueue: PoolEnqueue, context: PoolContext, type: string) {
  const range = context.ranges[type];
  const target = context.baseSizes[type];
  if (!range || target === undefined) return;
  const capacity = onCluster(context) ? capacityOf(type, context.nodes) : range.portEnd - range.portStart + 1;
  const plan = resizePlan(context, type, Math.min(target, capacity));
  const retire = context.elastic[type] ? [] : plan.retire;
  if (plan.add.length === 0 && retire.length === 0) return;
  growSlots(enqueue, context, plan.add);
  retireSlots(enqueue, context, retire);
  enqueue.emit({ type: 'pool.scaled', added: plan.add.map((s) => s.name), retired: retire });
}

const onCluster = (context: PoolContext) => Object.keys(context.nodes).length > 0;

/** `planResize`, or on a cluster its node-aware twin (placement on ready nodes, see pool.nodes.ts). */
function resizePlan(context: PoolContext, type: string, size: number) {
  return onCluster(context)
    ? planNodeResize(context.slots, context.reserved, type, size, context.nodes)
    : planResize(context.slots, context.reserved, type, size, context.ranges[type]!);
}

/** Hand a launch to the lowest free slot of its type, or answer it with the refusal. */
function offerLaunch(enqueue: PoolEnqueue, context: PoolContext, kind: string, requestId: string, assignment: Assignment) {
  const choice = chooseSlot(context.slots, context.reserved, { type: kind, userId: assignment.userId }, context.ranges, context.perUserLimit);
  if (!choice.ok) {
    enqueue.emit({ type: 'launch.done', requestId, ok: false, refusal: choice.refusal, message: choice.message });
    return;
  }
  const cause: AssignCause = { kind: 'launch', requestId };
  enqueue.assign({ reserved: ({ context: now }) => ({ ...now.reserved, [choice.slot.name]: { cause, userId: assignment.userId } }) });
  enqueue.sendTo(choice.slot.name, { type: 'slot.assign', cause, assignment });
}

/**
 * Move the assignment of slot `from` to a free slot of its type (on a node that is not leaving).
 * `reserved` is the action's working copy: several moves decided in one action never pick the
 * same slot. Tells the holder's side when no slot is free.
 */
function offerRelocation(enqueue: PoolEnqueue, context: PoolContext, reserved: Record<string, Reservation>, from: string, assignment: Assignment, why: string) {
  const type = context.slots[from]?.type;
  const choice = type ? chooseSlot(onStayingNodes(context.slots, context.nodes), reserved, { type, userId: -1 }, context.ranges, 0) : null;
  if (!choice?.ok) {
    enqueue.emit({ type: 'assignment.stranded', name: from, assignment, message: `${why}; no free ${type} container to move to, still retrying` });
    return;
  }
  const reservation: Reservation = { cause: { kind: 'relocation', from }, userId: assignment.userId };
  reserved[choice.slot.name] = reservation;
  enqueue.assign({ reserved: ({ context: now }) => ({ ...now.reserved, [choice.slot.name]: reservation }) });
  enqueue.sendTo(choice.slot.name, { type: 'slot.assign', cause: reservation.cause, assignment });
}

/** New, empty slots: views in the map first, then their actors. */
function growSlots(enqueue: SpawnEnqueue, context: PoolContext, specs: SlotSpec[]) {
  if (specs.length === 0) return;
  const inputs: ContainerInput[] = specs.map((slot) => ({ slot, containerId: null, observed: 'missing' as const, assignment: null }));
  enqueue.assign({ slots: ({ context: current }) => ({ ...current.slots, ...Object.fromEntries(inputs.map((i) => [i.slot.name, viewOf(i)])) }) });
  spawnContainers(enqueue, context, inputs);
}


function viewOf(input: ContainerInput): SlotView {
  return {
    ...input.slot,
    state: input.assignment ? 'assigned' : 'stopped',
    phase: 'starting',
    containerId: input.containerId,
    assignment: input.assignment,
    error: null,
  };
}

export type { PoolCommand, PoolEmitted, PoolEvent, PoolInput, SweepResult } from './events.ts';

export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
    emitted: {} as PoolEmitted,
  },
  actors: {
    container: containerMachine,
    listContainers: fromPromise<SweepResult>(async () => {
      throw new Error('listContainers not provided');
    }),
    removeOrphans: fromPromise<void, { containers: ObservedContainer[] }>(async () => {
      throw new Error('removeOrphans not provided');
    }),
  },
  delays: {
    healthInterval: ({ context }) => context.healthIntervalMs,
  },
  guards: {
    paused: ({ context }) => context.monitorPaused,
  },
  actions: {
    /** Add slots for these specs: views in the map first, then one child actor each. */
    growSlots: enqueueActions(({ context, enqueue }, params: { specs: SlotSpec[] }) => {
      growSlots(enqueue, context, params.specs);
    }),
    /** Take free slots out of the pool (see `retireSlots`). */
    retireSlots: enqueueActions(({ context, enqueue }, params: { names: string[] }) => {
      retireSlots(enqueue, context, params.names);
    }),
    /** Elastic types: top up warm containers after a hand-out, retire surplus after a sweep. */
    refill: enqueueActions(({ context, enqueue }, params: { retire: boolean }) => {
      const plan = planRefill(context.slots, context.reserved, context.elastic, context.baseSizes, context.ranges);
      const retire = params.retire ? plan.retire : [];
      if (plan.add.length === 0 && retire.length === 0) return;
      growSlots(enqueue, context, plan.add);
      retireSlots(enqueue, context, retire);
      enqueue.emit({ type: 'pool.scaled', added: plan.add.map((s) => s.name), retired: retire });
    }),
    /** See `converge`. */
    converge: enqueueActions(({ context, enqueue }, params: { type: string }) => {
      converge(enqueue, context, params.type);
    }),
    spawnSlots: enqueueActions(({ context, enqueue }, params: { inputs: ContainerInput[] }) => {
      spawnContainers(enqueue, context, params.inputs);
    }),
    /** Cluster engines: move assignments off down nodes, retire free slots of leaving nodes, bring every type back to its size on the others. */
    followNodes: enqueueActions(({ context, enqueue }) => {
      if (!onCluster(context)) return;
      const loss = planNodeLoss(context.slots, context.reserved, context.nodes, moving(context.reserved));
      const reserved = { ...context.reserved };
      for (const name of loss.move) {
        const from = context.slots[name]!;
        offerRelocation(enqueue, context, reserved, name, from.assignment!, `node ${from.node} is down`);
      }
      retireSlots(enqueue, context, loss.retire);
      const after: PoolContext = {
        ...context,
        reserved,
        slots: Object.fromEntries(Object.entries(context.slots).map(([name, s]) => [name, loss.retire.includes(name) ? { ...s, phase: 'retiring' } : s])),
      };
      for (const type of Object.keys(context.baseSizes)) converge(enqueue, after, type);
    }),
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    slots: Object.fromEntries(input.slots.map((s) => [s.slot.name, viewOf(s)])),
    reserved: {},
    ranges: input.ranges,
    healthIntervalMs: input.healthIntervalMs,
    perUserLimit: input.perUserLimit,
    monitorPaused: input.monitorPaused ?? false,
    retryBaseMs: input.retryBaseMs ?? 1000,
    maxInPlaceAttempts: input.maxInPlaceAttempts ?? 3,
    sweeps: 0,
    expiry: input.expiry ?? { idleTtlMs: 0, maxLifetimeMs: 0, warnMs: 0 },
    elastic: input.elastic ?? {},
    baseSizes: input.baseSizes ?? {},
    activity: {},
    warned: {},
    generations: {},
    nextGeneration: 1,
    nodes: nodesOf(input.nodes ?? []),
  }),
  entry: [{ type: 'spawnSlots', params: ({ event }) => ({ inputs: (event as unknown as { input: PoolInput }).input.slots }) }],
  type: 'parallel',
  states: {
    supervising: {
      on: {
        'pool.launch': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const assignment: Assignment = { id: 0, userId: event.userId, username: event.username, createdAt: event.at };
            offerLaunch(enqueue, context, event.kind, event.requestId, assignment);
          }),
        },
        'slot.assigned': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { [event.name]: _done, ...reserved } = context.reserved;
            const cause = event.cause;
            const previous = context.slots[event.name];
            if (!previous) {
              enqueue.assign({ reserved });
              if (cause.kind === 'launch') {
                enqueue.emit({ type: 'launch.done', requestId: cause.requestId, ok: false, refusal: 'error', message: `${event.name} left the pool while it was being handed out` });
              }
              return;
            }
            const slot: SlotView = { ...previous, state: 'assigned', phase: 'serving', assignment: event.assignment };
            const slots = { ...context.slots, [event.name]: slot };
            if (cause.kind === 'relocation') {
              const from = slots[cause.from];
              if (from) slots[cause.from] = { ...from, assignment: null };
            }
            enqueue.assign({ reserved, slots });
            if (cause.kind === 'relocation') {
              enqueue.sendTo(cause.from, { type: 'slot.relinquish' });
              enqueue.emit({ type: 'assignment.moved', from: cause.from, to: event.name, assignment: event.assignment });
            } else {
              enqueue.emit({ type: 'launch.done', requestId: cause.requestId, ok: true, slot, assignment: event.assignment });
            }
            enqueue({ type: 'refill', params: { retire: false } });
            enqueue({ type: 'followNodes' });
          }),
        },
        'nodes.changed': {
          actions: [assign({ nodes: ({ event }) => nodesOf(event.nodes) }), 'followNodes'],
        },
        'pool.touch': {
          actions: assign({
            activity: ({ context, event }) => ({ ...context.activity, [event.assignmentId]: Math.max(event.at, context.activity[event.assignmentId] ?? 0) }),
          }),
        },
        'slot.assignFailed': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { [event.name]: _failed, ...reserved } = context.reserved;
            const next = { ...context, reserved };
            enqueue.assign({ reserved });
            const cause = event.cause;
            const type = context.slots[event.name]?.type ?? '';
            // Refused: the slot was not free after all (its news was still on the way); try another.
            if (cause.kind === 'launch' && event.refused) return offerLaunch(enqueue, next, type, cause.requestId, event.assignment);
            if (cause.kind === 'relocation' && event.refused) return offerRelocation(enqueue, next, { ...reserved }, cause.from, event.assignment, `${cause.from} could not be rebuilt`);
            const message = `could not hand out ${event.name}: ${event.error}`;
            if (cause.kind === 'launch') enqueue.emit({ type: 'launch.done', requestId: cause.requestId, ok: false, refusal: 'error', message });
            else enqueue.emit({ type: 'assignment.stranded', name: cause.from, assignment: event.assignment, message });
          }),
        },
        'pool.release': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const slot = context.slots[event.name];
            const refuse = (message: string) => enqueue.emit({ type: 'release.done', requestId: event.requestId, ok: false, message });
            if (!slot || slot.assignment?.id !== event.assignmentId || context.reserved[event.name]) {
              return refuse('that container is not assigned to this assignment any more');
            }
            if (slot.phase === 'releasing') return refuse(`${slot.name} is already being released`);
            if (moving(context.reserved)(slot.name)) {
              return refuse(`${slot.name} is being moved to another container; try again shortly`);
            }
            enqueue.sendTo(event.name, { type: 'slot.release', cause: { kind: 'request', requestId: event.requestId } });
          }),
        },
        'slot.released': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const previous = context.slots[event.name];
            const { [event.assignment.id]: _active, ...activity } = context.activity;
            const { [event.assignment.id]: _warned, ...warned } = context.warned;
            const slots = previous ? { ...context.slots, [event.name]: { ...previous, state: 'stopped', phase: 'recreating', assignment: null } satisfies SlotView } : context.slots;
            enqueue.assign({ slots, activity, warned });
            if (event.cause.kind === 'request') enqueue.emit({ type: 'release.done', requestId: event.cause.requestId, ok: true, assignment: event.assignment });
          }),
        },
        'slot.releaseFailed': {
          actions: enqueueActions(({ event, enqueue }) => {
            if (event.cause.kind === 'request') enqueue.emit({ type: 'release.done', requestId: event.cause.requestId, ok: false, message: event.error, failed: true });
            else enqueue.emit({ type: 'assignment.expiryFailed', name: event.name, reason: event.cause.reason, message: event.error });
          }),
        },
        'slot.changed': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const previous = context.slots[event.name];
            if (!previous) return;
            // Once the pool has decided to retire a slot, nothing the actor reports brings it back.
            if (previous.phase === 'retiring' && event.phase !== 'retiring') return;
            const slot: SlotView = {
              ...previous,
              state: event.state,
              phase: event.phase,
              containerId: event.containerId,
              assignment: event.assignment,
              error: event.error,
            };
            enqueue.assign({ slots: { ...context.slots, [event.name]: slot } });
            enqueue.emit({ type: 'slot.updated', slot });
            if (slot.state === 'available' && slot.phase === 'ready') enqueue({ type: 'converge', params: { type: slot.type } });
            enqueue({ type: 'followNodes' });
          }),
        },
        'slot.recovered': {
          actions: emit(({ event }) => ({
            type: 'recovery.done' as const,
            name: event.name,
            assignment: event.assignment,
            containerId: event.containerId,
            durationMs: event.finishedAt - event.faultAt,
            attempts: event.attempts,
          })),
        },
        'slot.lost': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const from = context.slots[event.name];
            // Already moved, or a move from it is under way: never hand one assignment out twice.
            if (!from || from.assignment?.id !== event.assignment.id || moving(context.reserved)(event.name)) return;
            offerRelocation(enqueue, context, { ...context.reserved }, event.name, event.assignment, `${event.name} could not be rebuilt after ${event.attempts} attempts (${event.error})`);
          }),
        },
        'pool.resize': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const range = context.ranges[event.kind];
            if (!range) {
              enqueue.emit({ type: 'resize.done', requestId: event.requestId, kind: event.kind, size: event.size, added: [], retired: [], kept: 0, message: `unknown container type "${event.kind}"` });
              return;
            }
            let plan;
            try {
              plan = resizePlan(context, event.kind, event.size);
            } catch (error) {
              enqueue.emit({ type: 'resize.done', requestId: event.requestId, kind: event.kind, size: event.size, added: [], retired: [], kept: 0, message: errorText(error) });
              return;
            }
            enqueue.assign({ baseSizes: { ...context.baseSizes, [event.kind]: event.size } });
            enqueue({ type: 'growSlots', params: { specs: plan.add } });
            enqueue({ type: 'retireSlots', params: { names: plan.retire } });
            enqueue.emit({
              type: 'resize.done',
              requestId: event.requestId,
              kind: event.kind,
              size: event.size,
              added: plan.add.map((s) => s.name),
              retired: plan.retire,
              kept: plan.kept,
              message: plan.kept ? `${plan.kept} ${event.kind} container(s) are held by users and stay until released` : undefined,
            });
          }),
        },
        'slot.retired': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            // A report from an earlier incarnation of this name must not remove the current one.
            if (context.generations[event.name] !== event.generation) return;
            const gone = context.slots[event.name];
            const { [event.name]: _gone, ...slots } = context.slots;
            const { [event.name]: _generation, ...generations } = context.generations;
            enqueue.assign({ slots, generations });
            enqueue.stopChild(event.name);
            enqueue.emit({ type: 'slot.removed', name: event.name });
            if (gone) enqueue({ type: 'converge', params: { type: gone.type } });
          }),
        },
        'pool.remove': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const slot = context.slots[event.name];
            const refuse = (message: string) => enqueue.emit({ type: 'remove.done', requestId: event.requestId, ok: false, message });
            if (!slot) return refuse('no such container');
            if (slot.assignment || context.reserved[slot.name]) return refuse(`${slot.name} is held by a user; release it first`);
            if (slot.phase === 'retiring') return refuse(`${slot.name} is already being removed`);
            enqueue.assign({ baseSizes: { ...context.baseSizes, [slot.type]: Math.max(0, (context.baseSizes[slot.type] ?? 1) - 1) } });
            enqueue({ type: 'retireSlots', params: { names: [slot.name] } });
            enqueue.emit({ type: 'remove.done', requestId: event.requestId, ok: true });
          }),
        },
        'pool.reinit': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const recreated: string[] = [];
            const skipped: string[] = [];
            for (const slot of Object.values(context.slots)) {
              if (slot.state === 'available' && !context.reserved[slot.name]) {
                enqueue.sendTo(slot.name, { type: 'slot.recreate' });
                recreated.push(slot.name);
              } else skipped.push(slot.name);
            }
            enqueue.emit({ type: 'reinit.done', requestId: event.requestId, recreated, skipped });
          }),
        },
        'docker.event': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!context.slots[event.name]) return;
            const type = event.action === 'destroy' ? 'container.destroyed' : 'container.died';
            enqueue.sendTo(event.name, { type, containerId: event.containerId, at: event.at });
          }),
        },
      },
    },

    monitor: {
      initial: 'settling',
      on: {
        'health.setInterval': {
          target: '.settling',
          actions: [
            assign({ healthIntervalMs: ({ event }) => event.ms }),
            emit(({ context, event }) => ({ type: 'monitor.changed' as const, paused: context.monitorPaused, intervalMs: event.ms })),
          ],
        },
      },
      states: {
        settling: {
          always: [{ guard: 'paused', target: 'paused' }, { target: 'waiting' }],
        },
        waiting: {
          after: { healthInterval: 'sweeping' },
          on: {
            'health.runNow': 'sweeping',
            'health.pause': {
              target: 'paused',
              actions: [
                assign({ monitorPaused: true }),
                emit(({ context }) => ({ type: 'monitor.changed' as const, paused: true, intervalMs: context.healthIntervalMs })),
              ],
            },
          },
        },
        paused: {
          on: {
            'health.runNow': 'sweeping',
            'health.resume': {
              target: 'waiting',
              actions: [
                assign({ monitorPaused: false }),
                emit(({ context }) => ({ type: 'monitor.changed' as const, paused: false, intervalMs: context.healthIntervalMs })),
              ],
            },
          },
        },
        sweeping: {
          on: {
            'health.pause': { actions: assign({ monitorPaused: true }) },
            'health.resume': { actions: assign({ monitorPaused: false }) },
          },
          invoke: {
            src: 'listContainers',
            onDone: {
              target: 'settling',
              actions: enqueueActions(({ context, event, enqueue }) => {
                const result = event.output;
                const diff = diffSweep(context.slots, result.containers);
                for (const finding of diff.findings) {
                  enqueue.sendTo(finding.name, {
                    type: 'container.observed',
                    containerId: finding.containerId,
                    running: finding.running,
                    at: result.finishedAt,
                  });
                }
                enqueue.assign({ sweeps: context.sweeps + 1 });
                enqueue.emit({
                  type: 'health.swept',
                  startedAt: result.startedAt,
                  durationMs: result.finishedAt - result.startedAt,
                  containers: result.containers.length,
                  dockerCalls: result.dockerCalls,
                  findings: diff.findings,
                  orphans: diff.orphans,
                });
                if (diff.orphans.length) {
                  enqueue.spawnChild('removeOrphans', { input: { containers: diff.orphans } });
                }
                const due = planExpiry(context.slots, context.activity, context.warned, context.expiry, result.finishedAt);
                for (const notice of due.expire) {
                  enqueue.sendTo(notice.name, { type: 'slot.release', cause: { kind: 'expiry', reason: notice.reason } });
                  enqueue.emit({ type: 'assignment.expired', name: notice.name, assignment: notice.assignment, reason: notice.reason });
                }
                if (due.warn.length) {
                  enqueue.assign({ warned: { ...context.warned, ...Object.fromEntries(due.warn.map((n) => [n.assignment.id, n.deadline])) } });
                  for (const notice of due.warn) enqueue.emit({ type: 'assignment.expiring', ...notice });
                }
                enqueue({ type: 'refill', params: { retire: true } });
                if (result.nodes) enqueue.raise({ type: 'nodes.changed', nodes: result.nodes });
              }),
            },
            onError: {
              target: 'settling',
              actions: emit(({ event }) => ({ type: 'health.failed' as const, error: errorText(event.error) })),
            },
          },
        },
      },
    },
  },
});
