/**
 * Shared vocabulary of the pool machines. Nothing here imports Docker, SQLite or sockets:
 * the machines receive the world as events and act on it through named promise actors
 * that the runtime provides (see runtime/pool/pool-actors.ts).
 */

import type { SlotState } from '../shared/pool.ts';

/** The four states the API, UI and database report (shared/pool.ts). */
export { SLOT_STATES, type SlotState } from '../shared/pool.ts';

/** A place in the pool: a name, a host port and the type of container that lives there. */
export interface SlotSpec {
  name: string;
  type: string;
  index: number;
  hostPort: number;
  /** On a cluster engine: the node that runs this slot, and the host its port is published on. */
  node?: string;
  host?: string;
}

export interface Credentials {
  username: string;
  password: string;
  keys: string[];
}

/** Who holds a slot. `id` is the assignment's row id, 0 until it has been stored. */
export interface Assignment {
  id: number;
  userId: number;
  username: string;
  createdAt: number;
  credentials?: Credentials | null;
}

/** What one Docker list call says about one container of our pool. */
export interface ObservedContainer {
  id: string;
  name: string;
  running: boolean;
  /** On a cluster engine: the node the container runs on. */
  node?: string;
}

export type Observation = 'running' | 'stopped' | 'missing';

/** Why a slot gets a new container; `recover` keeps the holder's files, the others wipe them. */
export type RecreateReason = 'create' | 'recycle' | 'recover' | 'reinit';

export interface SlotView extends SlotSpec {
  state: SlotState;
  /** Sub-state path below the top-level state, e.g. `recreating`. */
  phase: string;
  containerId: string | null;
  assignment: Assignment | null;
  error: string | null;
}

export interface TypeRange {
  portStart: number;
  portEnd: number;
}

/** A node of a cluster engine, as the pool sees it. `drain`: no new slots, free ones leave. */
export type NodeState = 'ready' | 'down' | 'drain';

export interface NodeStatus {
  name: string;
  state: NodeState;
  /** Host name or address the node's published ports are reached at. */
  host: string;
  /** The host port range of each type this node may run; a type not listed does not run here. */
  ports: Record<string, TypeRange>;
}

export type LaunchRefusal = 'unknown-type' | 'none-free' | 'limit' | 'error';

// ---- inputs and outputs of the promise actors the runtime provides ----

export interface StartInput { slot: SlotSpec; containerId: string }
export interface RecreateInput {
  slot: SlotSpec;
  containerId: string | null;
  assignment: Assignment | null;
  reason: RecreateReason;
}
export interface RecreateOutput { containerId: string; finishedAt: number }
export interface PersistAssignmentInput {
  slot: SlotSpec;
  containerId: string;
  assignment: Assignment;
  relocatedFrom: string | null;
}
export interface PersistReleaseInput { slot: SlotSpec; assignment: Assignment }
export interface RemoveInput { slot: SlotSpec; containerId: string | null }

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
