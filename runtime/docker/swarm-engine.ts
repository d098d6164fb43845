/**
 * ContainerEngine on a Docker Swarm (contract in engine.ts): a slot is a service named as the
 * slot, one replica, pinned to its node by a placement constraint, its port published in host
 * mode on that node, restart condition `none` (the pool supervisor owns recovery), `init`, the
 * pool's labels on the service and on its task container.
 *
 * Two kinds of endpoints: the manager (services, tasks, nodes, node events) and each node's own
 * engine (exec, files, logs, stats and container events: a task's death is only reported by the
 * engine it ran on). A node's engine endpoint, public host and port ranges come from its labels
 * or POOLDECK_NODE_* settings (swarm-config.ts).
 */
import Docker from 'dockerode';
import type { NodeStatus, ObservedContainer } from '../../machines/types.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { DockerodeEngine, POOL_LABEL } from './dockerode-engine.ts';
import { EngineError, type ContainerEngine, type EngineEvent, type ExecResult, type RunSpec } from './engine.ts';
import { dockerOptions, nodeKey, resolveNode } from './swarm-config.ts';
import { deleteFiles, putFiles } from './swarm-files.ts';
import { watchNodeEvents } from './swarm-watch.ts';

export const SLOT_LABEL = 'pooldeck.slot';

/** How long a new task may take to run before the service is given up. */
const TASK_START_MS = 30_000;
/** A task Swarm cannot place (node gone, port taken) is given up after this long. */
const UNPLACEABLE_MS = 5_000;
const FINISHED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

interface SwarmNode {
  id: string;
  status: NodeStatus;
  /** The node's own engine, null when no endpoint is known. */
  engine: DockerodeEngine | null;
  endpoint: string | null;
}

interface Task {
  ID: string;
  NodeID?: string;
  DesiredState?: string;
  Version?: { Index?: number };
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status?: { State?: string; Err?: string; Message?: string; ContainerStatus?: { ContainerID?: string } };
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;
const describe = (error: unknown) => (error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `pool_nginx_0_9100.1.x3k…` (a task container's name) → `pool_nginx_0_9100`. */
export const serviceOfTaskName = (name: string) => name.replace(/^\//, '').replace(/\.\d+\.[a-z0-9]+$/, '');

export class SwarmEngine implements ContainerEngine {
  readonly manager: Docker;
  private readonly byName = new Map<string, SwarmNode>();
  private readonly byId = new Map<string, SwarmNode>();
  /** Task container id → slot and node, from the last listing or run. */
  private readonly containers = new Map<string, { slot: string; node: string }>();
  private readonly types: string[];
  /** The pool's Swarm network, and the config-only network it takes its options from on each node. */
  readonly network: string;
  private readonly networkConfig: string;
  private readonly nodesWithNetwork = new Set<string>();

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    manager?: Docker,
  ) {
    const { host, tls } = config.engine;
    this.manager = manager ?? new Docker(host ? dockerOptions(host, tls) : undefined);
    this.types = Object.keys(config.types);
    this.network = `pooldeck_${config.poolName}`;
    this.networkConfig = `pooldeck_${config.poolName}_isolated`;
  }

  /**
   * The pool's network: a Swarm-scoped bridge whose options come from a config-only network on
   * each node with inter-container traffic disabled, so pool containers on one node cannot reach
   * each other (a Swarm-scoped bridge created with the option directly does not pass it on).
   */
  async ensureNetwork(): Promise<string> {
    for (const node of this.byName.values()) await this.ensureNodeNetwork(node);
    const existing = await this.manager.listNetworks({ filters: { name: [this.network] } });
    if (existing.some((n) => n.Name === this.network)) return this.network;
    try {
      await this.manager.createNetwork({ Name: this.network, Driver: 'bridge', Scope: 'swarm', ConfigFrom: { Network: this.networkConfig } } as Docker.NetworkCreateOptions);
    } catch (error) {
      if (statusOf(error) !== 409) throw new EngineError(this.network, `network create failed: ${describe(error)}`, statusOf(error));
    }
    return this.network;
  }

  private async ensureNodeNetwork(node: SwarmNode): Promise<void> {
    if (!node.engine || node.status.state === 'down' || this.nodesWithNetwork.has(node.status.name)) return;
    const docker = node.engine.docker;
    const existing = await docker.listNetworks({ filters: { name: [this.networkConfig] } });
    if (!existing.some((n) => n.Name === this.networkConfig)) {
      try {
        await docker.createNetwork({
          Name: this.networkConfig,
          ConfigOnly: true,
          Labels: { [POOL_LABEL]: this.config.poolName },
          Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        } as Docker.NetworkCreateOptions);
      } catch (error) {
        if (statusOf(error) !== 409) throw new EngineError(node.status.name, `network ${this.networkConfig} create failed: ${describe(error)}`, statusOf(error));
      }
    }
    this.nodesWithNetwork.add(node.status.name);
  }

  async ping(): Promise<void> {
    let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    try {
      info = await this.manager.info();
    } catch (error) {
      throw new EngineError('swarm manager', `not reachable at ${this.config.engine.host ?? 'the local socket'} (${describe(error)})`);
    }
    if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
      throw new EngineError('swarm manager', `${this.config.engine.host ?? 'the local engine'} is not a Swarm manager (swarm state: ${info.Swarm?.LocalNodeState ?? 'none'})`);
    }
    await this.nodes();
  }

  // ---- nodes ----

  /** One node list call; every node with its state, public host and port ranges. */
  async nodes(): Promise<NodeStatus[]> {
    const list = (await this.manager.listNodes()) as Array<{
      ID: string;
      Spec?: { Labels?: Record<string, string>; Availability?: string };
      Description?: { Hostname?: string };
      Status?: { State?: string; Addr?: string };
    }>;
    const seen = new Set<string>();
    for (const raw of list) {
      const name = raw.Description?.Hostname ?? raw.ID;
      seen.add(name);
      const resolved = resolveNode(name, raw.Spec?.Labels ?? {}, this.config.engine.nodes[nodeKey(name)], this.types, raw.Status?.Addr ?? name);
      const state = raw.Status?.State !== 'ready' ? 'down' : raw.Spec?.Availability === 'active' ? 'ready' : 'drain';
      const status: NodeStatus = { name, state, host: resolved.publicHost, ports: resolved.ports };
      let node = this.byName.get(name);
      if (!node || node.endpoint !== resolved.engine) {
        node = { id: raw.ID, status, endpoint: resolved.engine, engine: resolved.engine ? this.nodeEngine(resolved.engine) : null };
        if (!resolved.engine) this.log.warn('swarm.node.no_engine', { node: name, hint: 'set the node label pooldeck.engine or POOLDECK_NODE_<NODE>_ENGINE' });
        this.byName.set(name, node);
        this.onNodeAdded?.(node);
      }
      node.id = raw.ID;
      node.status = status;
      this.byId.set(raw.ID, node);
    }
    for (const name of [...this.byName.keys()]) if (!seen.has(name)) this.byName.delete(name);
    return [...this.byName.values()].map((n) => n.status);
  }

  private nodeEngine(endpoint: string): DockerodeEngine {
    return new DockerodeEngine(this.config.poolName, this.log, new Docker(dockerOptions(endpoint, this.config.engine.tls)));
  }

  private onNodeAdded: ((node: SwarmNode) => void) | null = null;

  private node(name: string): SwarmNode {
    const node = this.byName.get(name);
    if (!node) throw new EngineError(name, 'no such Swarm node');
    return node;
  }

  /** The engine of the node a container runs on. */
  dockerOf(containerId: string): Docker {
    const where = this.containers.get(containerId);
    const engine = where ? this.byName.get(where.node)?.engine : null;
    if (!engine) throw new EngineError(containerId, where ? `node ${where.node} has no engine endpoint` : 'not a container of this pool');
    return engine.docker;
  }

  nodeOf(containerId: string): string | null {
    return this.containers.get(containerId)?.node ?? null;
  }

  async hasImage(image: string): Promise<boolean> {
    for (const node of this.byName.values()) {
      if (node.status.state === 'down' || !node.engine) continue;
      if (!(await node.engine.hasImage(image))) {
        this.log.warn('swarm.image.missing', { node: node.status.name, image });
        return false;
      }
    }
    return true;
  }

  // ---- slots as services ----

  async list(): Promise<ObservedContainer[]> {
    const tasks = (await this.manager.listTasks({ filters: { label: [`${POOL_LABEL}=${this.config.poolName}`] } })) as Task[];
    const newest = new Map<string, Task>();
    for (const task of tasks) {
      const labels = task.Spec?.ContainerSpec?.Labels ?? {};
      const slot = labels[SLOT_LABEL];
      if (!slot || labels[POOL_LABEL] !== this.config.poolName) continue;
      const seen = newest.get(slot);
      if (!seen || (task.Version?.Index ?? 0) > (seen.Version?.Index ?? 0)) newest.set(slot, task);
    }
    const observed: ObservedContainer[] = [];
    for (const [slot, task] of newest) {
      const node = task.NodeID ? this.byId.get(task.NodeID)?.status.name : undefined;
      const id = task.Status?.ContainerStatus?.ContainerID ?? `task:${task.ID}`;
      if (node && !id.startsWith('task:')) this.containers.set(id, { slot, node });
      observed.push({ id, name: slot, running: task.Status?.State === 'running' && task.DesiredState === 'running', ...(node ? { node } : {}) });
    }
    return observed;
  }

  private serviceSpec(spec: RunSpec, node: string): Docker.CreateServiceOptions {
    const labels = { ...spec.labels, [POOL_LABEL]: this.config.poolName, [SLOT_LABEL]: spec.name };
    return {
      Name: spec.name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: spec.image,
          Labels: labels,
          Init: true,
          CapabilityDrop: ['ALL'],
          CapabilityAdd: spec.capAdd,
          // 2 s: with init, SIGTERM ends the task at once; a stuck one must not hold its port for 10 s.
          StopGracePeriod: 2_000_000_000,
        },
        Resources: { Limits: { NanoCPUs: spec.nanoCpus, MemoryBytes: spec.memoryBytes, Pids: spec.pidsLimit } as Docker.ResourceLimits },
        RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
        Placement: { Constraints: [`node.hostname == ${node}`] },
        LogDriver: { Name: 'json-file', Options: { 'max-size': spec.logMaxSize, 'max-file': '2' } },
        Networks: [{ Target: this.network }],
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: spec.containerPort, PublishedPort: spec.hostPort, PublishMode: 'host' }] },
    };
  }

  /**
   * Creates the slot's service and waits until its task runs. Gives up (removing only the service
   * it created, never a later one of the same name) when the task finishes, cannot be placed, is
   * not running in time, when its node goes down or is drained meanwhile (a task pinned there
   * never runs: waiting would keep a lost slot, and a creation turn, for nothing), or when the
   * caller abandons it.
   */
  async run(spec: RunSpec, signal?: AbortSignal): Promise<string> {
    if (!spec.node) throw new EngineError(spec.name, 'a Swarm slot needs a node');
    const node = this.node(spec.node);
    // Down, or drained (Swarm places no new task on a drained node): the task would never run.
    const unusable = () => {
      const state = this.byName.get(spec.node!)?.status.state;
      return state === 'down' ? `node ${spec.node} is down` : state === 'drain' ? `node ${spec.node} is drained` : null;
    };
    const refused = unusable();
    if (refused) throw new EngineError(spec.name, refused);
    await this.ensureNodeNetwork(node); // a node that joined after start
    await this.remove(spec.name);
    let serviceId: string;
    try {
      serviceId = (await this.manager.createService(this.serviceSpec(spec, spec.node))).id as string;
    } catch (error) {
      if (statusOf(error) !== 409) throw new EngineError(spec.name, `service create failed: ${describe(error)}`, statusOf(error));
      await this.removeService(spec.name);
      serviceId = (await this.manager.createService(this.serviceSpec(spec, spec.node))).id as string;
    }
    const started = Date.now();
    let unplaceableSince: number | null = null;
    for (let delay = 50; ; delay = Math.min(delay * 1.5, 250)) {
      if (signal?.aborted) return this.giveUp(spec.name, serviceId, 'start abandoned');
      const tasks = (await this.manager.listTasks({ filters: { service: [serviceId] } })) as Task[];
      const task = tasks.sort((a, b) => (b.Version?.Index ?? 0) - (a.Version?.Index ?? 0))[0];
      const state = task?.Status?.State ?? 'new';
      const containerId = task?.Status?.ContainerStatus?.ContainerID;
      if (state === 'running' && containerId) {
        this.containers.set(containerId, { slot: spec.name, node: spec.node });
        return containerId;
      }
      const why = task?.Status?.Err || task?.Status?.Message || state;
      if (FINISHED.has(state)) return this.giveUp(spec.name, serviceId, `task ${state}: ${why}`);
      const gone = unusable();
      if (gone) return this.giveUp(spec.name, serviceId, gone);
      if (state === 'pending' && task?.Status?.Err) {
        unplaceableSince ??= Date.now();
        if (Date.now() - unplaceableSince > UNPLACEABLE_MS) return this.giveUp(spec.name, serviceId, `Swarm cannot place it: ${why}`);
      }
      if (Date.now() - started > TASK_START_MS) return this.giveUp(spec.name, serviceId, `task not running after ${TASK_START_MS} ms (${why})`);
      await sleep(delay);
    }
  }

  /** Removes the service this run created (by id: a later service of the same name is not ours). */
  private async giveUp(name: string, serviceId: string, message: string): Promise<never> {
    await this.removeService(serviceId).catch(() => undefined);
    throw new EngineError(name, message);
  }

  start(id: string): Promise<void> {
    return Promise.reject(new EngineError(id, 'a finished Swarm task is not restarted; its slot is recreated'));
  }

  /** A Swarm task is not stopped and started again in place; recreating the slot is the way. */
  stop(id: string): Promise<void> {
    return Promise.reject(new EngineError(id, 'a Swarm task cannot be restarted in place; recreate the slot instead', 409));
  }

  /**
   * Removes the slot's service (by slot name, or by the id of its task container) and waits until
   * its container no longer runs, so that the slot's port is free again on its node.
   */
  async remove(idOrName: string): Promise<void> {
    const known = this.containers.get(idOrName);
    const slot = known?.slot ?? idOrName;
    const doomed = [...this.containers].filter(([, where]) => where.slot === slot);
    await this.removeService(slot);
    await Promise.all(doomed.map(([id, where]) => this.waitStopped(id, where.node)));
  }

  private async removeService(name: string): Promise<void> {
    try {
      await this.manager.getService(name).remove();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw new EngineError(name, `service remove failed: ${describe(error)}`, statusOf(error));
    }
  }

  private async waitStopped(containerId: string, nodeName: string): Promise<void> {
    const node = this.byName.get(nodeName);
    this.containers.delete(containerId);
    if (!node?.engine || node.status.state === 'down') return;
    const deadline = Date.now() + 10_000;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 1.5, 250)) {
      try {
        const info = await node.engine.docker.getContainer(containerId).inspect();
        if (!info.State.Running) return;
      } catch (error) {
        if (statusOf(error) === 404) return;
        this.log.warn('swarm.container.inspect_failed', { containerId: containerId.slice(0, 12), node: nodeName, error: describe(error) });
        return;
      }
      await sleep(delay);
    }
  }

  // ---- into containers, through their node's engine ----

  async exec(id: string, cmd: string[], stdin?: string): Promise<ExecResult> {
    const where = this.containers.get(id);
    const engine = where ? this.byName.get(where.node)?.engine : null;
    if (!engine) throw new EngineError(id, 'no engine for the node of this container');
    return engine.exec(id, cmd, stdin);
  }

  putFiles(containerId: string, sourceDir: string, targetDir: string, options?: { names?: string[]; replace?: boolean }): Promise<void> {
    return putFiles(this.dockerOf(containerId), containerId, sourceDir, targetDir, options);
  }

  deleteFiles(containerId: string, targetDir: string, names: string[]): Promise<void> {
    return deleteFiles(this.dockerOf(containerId), containerId, targetDir, names);
  }

  // ---- news ----

  /** Deaths from every node's own engine (a node that comes back is reconnected by its watcher). */
  watch(onEvent: (event: EngineEvent) => void, onState?: (connected: boolean, error?: string) => void): () => void {
    const stops = new Map<string, () => void>();
    const follow = (node: SwarmNode) => {
      if (!node.engine) return;
      stops.get(node.status.name)?.();
      const name = node.status.name;
      stops.set(
        name,
        node.engine.watch(
          (event) => onEvent({ ...event, name: serviceOfTaskName(event.name) }),
          (connected, error) => {
            this.log[connected ? 'info' : 'warn']('swarm.node.events', { node: name, connected, error });
            onState?.(connected, error);
          },
        ),
      );
    };
    for (const node of this.byName.values()) follow(node);
    this.onNodeAdded = follow;
    return () => {
      this.onNodeAdded = null;
      for (const stop of stops.values()) stop();
    };
  }

  /** Node state changes from the manager's event stream, each answered with a fresh node list. */
  watchNodes(onNodes: (nodes: NodeStatus[]) => void): () => void {
    return watchNodeEvents(this.manager, this.log, async () => onNodes(await this.nodes()));
  }
}
