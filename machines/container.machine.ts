/**
 * One actor per pool slot. It owns its container's Docker calls and its own retry timers.
 *
 * Contract with the pool (the parent):
 * - The pool sends `slot.assign` only while this actor last reported `available`/`ready`;
 *   it marks the slot reserved in its own map at once, so no second launch can pick it.
 * - Every settled state is reported upward as `slot.changed`.
 * - Every request is answered exactly once, with the cause it came with: `slot.assign` by
 *   `slot.assigned` or `slot.assignFailed` (`refused` when the slot was not free: nothing was
 *   written), `slot.release` by `slot.released` or `slot.releaseFailed` (the assignment is still
 *   held and the actor is back where it was: serving, or rebuilding a failed container).
 * - An assigned container that dies is rebuilt in place (same port, same files, same
 *   credentials); after `maxInPlaceAttempts` failures the actor reports `slot.lost` so the
 *   pool can move the assignment, and keeps trying until told `slot.relinquish`.
 * - Docker news (`container.died`, `container.destroyed`) and health-sweep observations
 *   (`container.observed`) about a container id other than this actor's are ignored.
 * - `slot.retire` is sent only to a free slot (not held, not reserved). The actor finishes a
 *   start or rebuild already under way, then removes the container, its row and its files, and
 *   reports `slot.retired` with its generation; nothing of the slot is written after that.
 */
import { assign, enqueueActions, fromPromise, sendParent, setup, type ActorRefFrom } from 'xstate';
import type { AssignCause, ContainerEvent, ContainerInput, ReleaseCause } from './events.ts';
import { errorText } from './types.ts';
import type {
  Assignment,
  Observation,
  PersistAssignmentInput,
  PersistReleaseInput,
  RecreateInput,
  RecreateOutput,
  RecreateReason,
  RemoveInput,
  SlotSpec,
  SlotState,
  StartInput,
} from './types.ts';

export interface ContainerContext {
  slot: SlotSpec;
  containerId: string | null;
  assignment: Assignment | null;
  initial: Observation;
  dirty: boolean;
  reason: RecreateReason;
  attempts: number;
  faultAt: number | null;
  lastError: string | null;
  assigning: AssignCause | null;
  releasing: ReleaseCause | null;
  /** Where a failed release returns to. */
  releasedFrom: 'serving' | 'failed';
  generation: number;
  /** The pool asked this slot to retire while a Docker call was under way: retire when it ends. */
  retireRequested: boolean;
  retryBaseMs: number;
  maxInPlaceAttempts: number;
}

const isMine = ({ context, event }: { context: ContainerContext; event: ContainerEvent }) =>
  'containerId' in event && event.containerId !== null && event.containerId === context.containerId;

type Args = { context: ContainerContext; event: ContainerEvent };
const observedFault = ({ context, event }: Args) =>
  event.type === 'container.observed' && (event.containerId === null || event.containerId !== context.containerId || !event.running);
const observedMissing = ({ event }: Args) => event.type === 'container.observed' && event.containerId === null;
const observedStopped = ({ event }: Args) => event.type === 'container.observed' && event.containerId !== null && !event.running;
const observedOtherRunning = ({ context, event }: Args) =>
  event.type === 'container.observed' && event.running && event.containerId !== context.containerId;

export type { ContainerEvent, ContainerInput, SlotReport } from './events.ts';

export const containerMachine = setup({
  types: {
    context: {} as ContainerContext,
    events: {} as ContainerEvent,
    input: {} as ContainerInput,
  },
  actors: {
    startContainer: fromPromise<void, StartInput>(async () => {
      throw new Error('startContainer not provided');
    }),
    recreateContainer: fromPromise<RecreateOutput, RecreateInput>(async () => {
      throw new Error('recreateContainer not provided');
    }),
    persistAssignment: fromPromise<Assignment, PersistAssignmentInput>(async () => {
      throw new Error('persistAssignment not provided');
    }),
    persistRelease: fromPromise<void, PersistReleaseInput>(async () => {
      throw new Error('persistRelease not provided');
    }),
    removeContainer: fromPromise<void, RemoveInput>(async () => {
      throw new Error('removeContainer not provided');
    }),
  },
  delays: {
    retryDelay: ({ context }) => Math.min(context.retryBaseMs * 2 ** Math.max(0, context.attempts - 1), 30_000),
  },
  guards: {
    isMine,
    observedFault,
    observedMissing,
    observedStopped,
    observedOtherRunning,
    startsAssignedRunning: ({ context }) => context.assignment !== null && context.initial === 'running',
    startsAssignedBroken: ({ context }) => context.assignment !== null,
    startsDirty: ({ context }) => context.dirty,
    startsRunning: ({ context }) => context.initial === 'running',
    startsStopped: ({ context }) => context.initial === 'stopped',
    retireRequested: ({ context }) => context.retireRequested,
    releasedFromFailed: ({ context }) => context.releasedFrom === 'failed',
    inPlaceExhausted: ({ context }) => context.attempts > 0 && context.attempts % context.maxInPlaceAttempts === 0,
  },
  actions: {
    report: sendParent(({ context }, params: { state: SlotState; phase: string }) => ({
      type: 'slot.changed' as const,
      name: context.slot.name,
      state: params.state,
      phase: params.phase,
      containerId: context.containerId,
      assignment: context.assignment,
      error: context.lastError,
    })),
    noteFault: assign({
      faultAt: ({ context, event }) => ('at' in event ? event.at : context.faultAt),
      attempts: 0,
    }),
    noteError: assign({
      lastError: ({ event }) => errorText((event as unknown as { error: unknown }).error),
      attempts: ({ context }) => context.attempts + 1,
    }),
    clearFault: assign({ attempts: 0, faultAt: null, lastError: null }),
    answerReleaseFailed: enqueueActions(({ context, event, enqueue }) => {
      const error = errorText((event as unknown as { error: unknown }).error);
      enqueue.sendParent({ type: 'slot.releaseFailed', name: context.slot.name, cause: context.releasing!, error: `could not release ${context.slot.name}: ${error}` });
      enqueue.assign({ releasing: null });
    }),
    adoptObserved: assign({
      containerId: ({ context, event }) => (event.type === 'container.observed' && event.containerId) || context.containerId,
    }),
  },
}).createMachine({
  id: 'container',
  context: ({ input }) => ({
    slot: input.slot,
    containerId: input.containerId,
    assignment: input.assignment,
    initial: input.observed,
    dirty: input.dirty ?? false,
    reason: input.observed === 'missing' ? 'create' : 'reinit',
    attempts: 0,
    faultAt: null,
    lastError: null,
    assigning: null,
    releasing: null,
    releasedFrom: 'serving',
    generation: input.generation ?? 0,
    retireRequested: false,
    retryBaseMs: input.retryBaseMs ?? 1000,
    maxInPlaceAttempts: input.maxInPlaceAttempts ?? 3,
  }),
  initial: 'init',
  on: {
    'slot.retire': { actions: assign({ retireRequested: true }) },
    // Requests this state cannot take are still answered, so no caller waits for ever.
    'slot.assign': {
      actions: sendParent(({ context, event, self }) => ({
        type: 'slot.assignFailed' as const,
        name: context.slot.name,
        cause: event.cause,
        assignment: event.assignment,
        error: `${context.slot.name} is not free (${JSON.stringify(self.getSnapshot().value)})`,
        refused: true,
      })),
    },
    'slot.release': {
      actions: sendParent(({ context, event }) => ({
        type: 'slot.releaseFailed' as const,
        name: context.slot.name,
        cause: event.cause,
        error: context.assignment ? `${context.slot.name} is busy; try again shortly` : `${context.slot.name} is not assigned`,
      })),
    },
  },
  states: {
    init: {
      always: [
        { guard: 'startsAssignedRunning', target: 'assigned' },
        { guard: 'startsAssignedBroken', target: 'failed' },
        { guard: 'startsDirty', target: 'stopped.recreating', actions: assign({ reason: 'recycle' }) },
        { guard: 'startsRunning', target: 'available' },
        { guard: 'startsStopped', target: 'stopped' },
        { target: 'stopped.recreating', actions: assign({ reason: 'create' }) },
      ],
    },

    available: {
      initial: 'ready',
      always: { guard: 'retireRequested', target: 'retiring' },
      states: {
        ready: {
          entry: [{ type: 'report', params: { state: 'available', phase: 'ready' } }],
          on: {
            'slot.assign': {
              target: '#container.assigned.persisting',
              actions: assign({
                assignment: ({ event }) => event.assignment,
                assigning: ({ event }) => event.cause,
              }),
            },
          },
        },
      },
      on: {
        'container.died': { guard: 'isMine', target: 'stopped.restarting' },
        'container.destroyed': { guard: 'isMine', target: 'stopped.recreating', actions: assign({ reason: 'create' }) },
        'container.observed': [
          { guard: 'observedMissing', target: 'stopped.recreating', actions: assign({ reason: 'create' }) },
          { guard: 'observedStopped', target: 'stopped.restarting', actions: 'adoptObserved' },
          { guard: 'observedOtherRunning', actions: 'adoptObserved' },
        ],
        'slot.recreate': { target: 'stopped.recreating', actions: assign({ reason: 'reinit' }) },
        'slot.retire': { target: 'retiring' },
      },
    },

    assigned: {
      initial: 'serving',
      on: {
        // The pool moved this assignment elsewhere while an in-place retry was still running.
        'slot.relinquish': {
          target: 'stopped.recreating',
          actions: [assign({ assignment: null, reason: 'recycle' }), 'clearFault'],
        },
      },
      states: {
        persisting: {
          invoke: {
            src: 'persistAssignment',
            input: ({ context }) => ({
              slot: context.slot,
              containerId: context.containerId!,
              assignment: context.assignment!,
              relocatedFrom: context.assigning?.kind === 'relocation' ? context.assigning.from : null,
            }),
            onDone: {
              target: 'serving',
              actions: [
                assign({ assignment: ({ event }) => event.output }),
                sendParent(({ context, event }) => ({
                  type: 'slot.assigned' as const,
                  name: context.slot.name,
                  cause: context.assigning!,
                  assignment: event.output,
                })),
                assign({ assigning: null }),
              ],
            },
            onError: {
              target: '#container.available',
              actions: [
                sendParent(({ context, event }) => ({
                  type: 'slot.assignFailed' as const,
                  name: context.slot.name,
                  cause: context.assigning!,
                  assignment: context.assignment!,
                  error: errorText(event.error),
                  refused: false,
                })),
                assign({ assignment: null, assigning: null }),
              ],
            },
          },
        },
        serving: {
          entry: [{ type: 'report', params: { state: 'assigned', phase: 'serving' } }],
          on: {
            'container.died': { guard: 'isMine', target: '#container.failed', actions: 'noteFault' },
            'container.destroyed': { guard: 'isMine', target: '#container.failed', actions: 'noteFault' },
            'container.observed': { guard: 'observedFault', target: '#container.failed', actions: 'noteFault' },
            'slot.release': {
              target: 'releasing',
              actions: assign({ releasing: ({ event }) => event.cause, releasedFrom: 'serving' }),
            },
          },
        },
        releasing: {
          entry: [
            {
              type: 'report',
              params: ({ context }: { context: ContainerContext }) => ({ state: context.releasedFrom === 'failed' ? 'failed' : 'assigned', phase: 'releasing' }),
            },
          ],
          invoke: {
            src: 'persistRelease',
            input: ({ context }) => ({ slot: context.slot, assignment: context.assignment! }),
            onDone: {
              target: '#container.stopped.recreating',
              actions: [
                sendParent(({ context }) => ({
                  type: 'slot.released' as const,
                  name: context.slot.name,
                  cause: context.releasing!,
                  assignment: context.assignment!,
                })),
                assign({ assignment: null, releasing: null, reason: 'recycle' }),
                'clearFault',
              ],
            },
            onError: [
              { guard: 'releasedFromFailed', target: '#container.failed.resumed', actions: 'answerReleaseFailed' },
              { target: 'serving', actions: 'answerReleaseFailed' },
            ],
          },
        },
      },
    },

    failed: {
      initial: 'recovering',
      states: {
        /** Back from a release that failed: carry on where the rebuild was. */
        resumed: { type: 'history' },
        recovering: {
          entry: [{ type: 'report', params: { state: 'failed', phase: 'recovering' } }],
          invoke: {
            src: 'recreateContainer',
            input: ({ context }) => ({
              slot: context.slot,
              containerId: context.containerId,
              assignment: context.assignment,
              reason: 'recover' as const,
            }),
            onDone: {
              target: '#container.assigned.serving',
              actions: [
                assign({ containerId: ({ event }) => event.output.containerId }),
                sendParent(({ context, event }) => ({
                  type: 'slot.recovered' as const,
                  name: context.slot.name,
                  assignment: context.assignment!,
                  containerId: event.output.containerId,
                  faultAt: context.faultAt ?? event.output.finishedAt,
                  finishedAt: event.output.finishedAt,
                  attempts: context.attempts + 1,
                })),
                'clearFault',
              ],
            },
            onError: { target: 'backoff', actions: 'noteError' },
          },
        },
        backoff: {
          entry: [{ type: 'report', params: { state: 'failed', phase: 'backoff' } }],
          always: {
            guard: 'inPlaceExhausted',
            target: 'waiting',
            actions: sendParent(({ context }) => ({
              type: 'slot.lost' as const,
              name: context.slot.name,
              assignment: context.assignment!,
              attempts: context.attempts,
              error: context.lastError,
            })),
          },
          after: { retryDelay: 'recovering' },
        },
        waiting: {
          after: { retryDelay: 'recovering' },
        },
      },
      on: {
        'slot.release': {
          target: '#container.assigned.releasing',
          actions: assign({ releasing: ({ event }) => event.cause, releasedFrom: 'failed' }),
        },
        'slot.relinquish': {
          target: 'stopped.recreating',
          actions: [assign({ assignment: null, reason: 'recycle' }), 'clearFault'],
        },
      },
    },

    stopped: {
      initial: 'restarting',
      states: {
        restarting: {
          entry: [{ type: 'report', params: { state: 'stopped', phase: 'restarting' } }],
          invoke: {
            src: 'startContainer',
            input: ({ context }) => ({ slot: context.slot, containerId: context.containerId! }),
            onDone: [
              { guard: 'retireRequested', target: '#container.retiring' },
              { target: '#container.available', actions: 'clearFault' },
            ],
            onError: [
              { guard: 'retireRequested', target: '#container.retiring', actions: 'noteError' },
              { target: 'recreating', actions: [assign({ reason: 'create' }), 'noteError'] },
            ],
          },
          on: { 'slot.retire': { actions: assign({ retireRequested: true }) } },
        },
        recreating: {
          entry: [{ type: 'report', params: { state: 'stopped', phase: 'recreating' } }],
          invoke: {
            src: 'recreateContainer',
            input: ({ context }) => ({
              slot: context.slot,
              containerId: context.containerId,
              assignment: null,
              reason: context.reason,
            }),
            onDone: [
              { guard: 'retireRequested', target: '#container.retiring', actions: assign({ containerId: ({ event }) => event.output.containerId }) },
              { target: '#container.available', actions: [assign({ containerId: ({ event }) => event.output.containerId, dirty: false }), 'clearFault'] },
            ],
            onError: [
              { guard: 'retireRequested', target: '#container.retiring', actions: 'noteError' },
              { target: 'backoff', actions: 'noteError' },
            ],
          },
          on: { 'slot.retire': { actions: assign({ retireRequested: true }) } },
        },
        backoff: {
          entry: [{ type: 'report', params: { state: 'stopped', phase: 'backoff' } }],
          after: { retryDelay: 'recreating' },
        },
      },
      on: {
        'slot.retire': { target: 'retiring' },
      },
    },

    retiring: {
      entry: [{ type: 'report', params: { state: 'stopped', phase: 'retiring' } }],
      invoke: {
        src: 'removeContainer',
        input: ({ context }) => ({ slot: context.slot, containerId: context.containerId }),
        onDone: 'retired',
        onError: { target: 'retired', actions: 'noteError' },
      },
    },

    retired: {
      type: 'final',
      entry: sendParent(({ context }) => ({ type: 'slot.retired' as const, name: context.slot.name, generation: context.generation })),
    },
  },
});

export type ContainerActor = ActorRefFrom<typeof containerMachine>;

/** The top-level state a snapshot value stands for (`retiring`/`init` count as stopped). */
export function topState(value: unknown): SlotState {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0];
  return top === 'available' || top === 'assigned' || top === 'failed' ? top : 'stopped';
}
