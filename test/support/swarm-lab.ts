/**
 * The Swarm lab (ops/scripts/swarm-lab.sh, docs/swarm.md "Lab") for tests.
 *
 * `ensureSwarmLab()` runs `swarm-lab.sh up`, which is idempotent: a running lab is reused as it
 * is (a few seconds of checks), a stopped one is started, a missing one is built (node image,
 * pool images loaded into each node, Swarm initialised). Several test processes may call it at
 * once: the script serialises them with a lock. Everything handed out is reachable at 127.0.0.1.
 *
 * What a test gets: the `export` lines of `swarm-lab.sh env` as an object (to start a Pooldeck
 * on the lab), a dockerode client on the manager, and per node its engine (dockerode), its
 * Swarm node id and labels as the manager reports them, its port ranges per type and a few
 * spare ports in no type's range. `stopNode`/`startNode` act on the node's container, as an
 * operator pulling a machine's plug would (`docker stop swarmlab-node2`).
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const LAB_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ops/scripts/swarm-lab.sh');

export interface PortRange {
  start: number;
  end: number;
}

export interface LabNode {
  /** 1-based, as in swarmlab-node<index>. */
  index: number;
  /** Container name on the local engine, also the Swarm node's hostname. */
  name: string;
  /** Swarm node id. */
  id: string;
  /** The node's engine endpoint (label pooldeck.engine), e.g. tcp://127.0.0.1:23752. */
  engine: string;
  docker: Docker;
  /** All of the node's Swarm labels (pooldeck.public-host, pooldeck.engine, pooldeck.types, pooldeck.ports.<type>). */
  labels: Record<string, string>;
  /** Per type, from the pooldeck.ports.<type> labels. */
  ports: Record<string, PortRange>;
  /** The node's address on the lab network (what the Swarm advertises; not reachable from tests' traffic rules, use 127.0.0.1). */
  ip: string;
  /** Published on 127.0.0.1 like the type ranges but in none of them: free for tests. */
  spare: PortRange;
}

export interface SwarmLab {
  /** `swarm-lab.sh env` as variables: POOLDECK_ENGINE, POOLDECK_DOCKER_HOST, POOLDECK_BIND, ... */
  env: Record<string, string>;
  manager: Docker;
  nodes: LabNode[];
  node(index: number): LabNode;
}

import { eventually } from './eventually.ts';

export { eventually };

/** A dockerode client for an endpoint as the docker CLI writes it (tcp://host:port, unix:///path). */
export function dockerFor(endpoint: string): Docker {
  const url = new URL(endpoint);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol === 'tcp:' || url.protocol === 'http:') return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
  throw new Error(`unsupported engine endpoint ${endpoint}`);
}

function range(raw: string | undefined, what: string): PortRange {
  const match = /^(\d+)-(\d+)$/.exec(raw ?? '');
  if (!match) throw new Error(`swarm lab: ${what} is "${raw}", not a port range`);
  return { start: Number(match[1]), end: Number(match[2]) };
}

/** Runs the lab script, its progress lines going to this process's stderr. */
function script(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(LAB_SCRIPT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (d: Buffer) => {
      process.stderr.write(d);
      tail = (tail + d.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`swarm-lab.sh ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

/** The variables `swarm-lab.sh env` exports. */
export async function labEnv(): Promise<Record<string, string>> {
  const { stdout } = await run(LAB_SCRIPT, ['env'], { timeout: 60_000 });
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** What the manager says about the lab's nodes now. */
export async function readLab(): Promise<SwarmLab> {
  const env = await labEnv();
  const managerEndpoint = env.POOLDECK_DOCKER_HOST;
  if (!managerEndpoint) throw new Error('swarm lab: env has no POOLDECK_DOCKER_HOST');
  const manager = dockerFor(managerEndpoint);
  const local = new Docker();
  const containers = await local.listContainers({ all: true, filters: { label: ['pooldeck.swarmlab=node'] } });
  const byName = new Map(containers.map((c) => [(c.Names[0] ?? '').replace(/^\//, ''), c]));
  const nodes: LabNode[] = [];
  for (const n of await manager.listNodes()) {
    const name = n.Description?.Hostname ?? '';
    const match = /^swarmlab-node(\d+)$/.exec(name);
    if (!match) continue;
    const labels = (n.Spec?.Labels ?? {}) as Record<string, string>;
    const engine = labels['pooldeck.engine'];
    if (!engine) throw new Error(`swarm lab: node ${name} has no pooldeck.engine label`);
    const ports: Record<string, PortRange> = {};
    for (const [key, value] of Object.entries(labels)) {
      if (key.startsWith('pooldeck.ports.')) ports[key.slice('pooldeck.ports.'.length)] = range(value, key);
    }
    nodes.push({ index: Number(match[1]), name, id: n.ID ?? '', engine, docker: dockerFor(engine), labels, ports,
      ip: byName.get(name)?.NetworkSettings?.Networks?.swarmlab?.IPAddress ?? '',
      spare: range(byName.get(name)?.Labels['pooldeck.swarmlab.spare'], `${name} spare ports`) });
  }
  nodes.sort((a, b) => a.index - b.index);
  return {
    env,
    manager,
    nodes,
    node(index) {
      const found = nodes.find((n) => n.index === index);
      if (!found) throw new Error(`swarm lab: no swarmlab-node${index}`);
      return found;
    },
  };
}

/**
 * Brings the lab up (or checks it is whole) and describes it. Reuses a running lab; keeps
 * its node count if it has more than two. The first run on a machine builds the node image and
 * loads the pool images: give the calling hook a generous timeout.
 */
export async function ensureSwarmLab(timeoutMs = 9 * 60_000): Promise<SwarmLab> {
  await script(['up'], timeoutMs);
  return readLab();
}

/** The manager's view of one node: ready, down, unknown, disconnected. */
export async function nodeState(lab: SwarmLab, index: number): Promise<string> {
  const node = await lab.manager.getNode(lab.node(index).id).inspect();
  return String(node.Status?.State ?? 'unknown');
}

/** Waits until the manager reports the node in `state` (Swarm marks a stopped node down after ~12 s). */
export async function waitNodeState(lab: SwarmLab, index: number, state: 'ready' | 'down', ms = 60_000): Promise<number> {
  const result = await eventually(async () => (await nodeState(lab, index).catch(() => '')) === state, ms, 250);
  if (!result.ok) throw new Error(`swarmlab-node${index} not ${state} after ${ms} ms (now ${await nodeState(lab, index).catch((e) => String(e))})`);
  return result.ms;
}

/** `docker stop swarmlab-node<index>`: the node's engine and every task on it go away. */
export async function stopNode(index: number): Promise<void> {
  await run('docker', ['stop', `swarmlab-node${index}`], { timeout: 60_000 });
}

/** Starts a stopped node and waits for its engine; it rejoins the Swarm by itself (see waitNodeState). */
export async function startNode(index: number): Promise<void> {
  await run(LAB_SCRIPT, ['start', String(index)], { timeout: 120_000 });
}

/** `docker node update --availability <drain|active> swarmlab-node<index>`, through the manager's API. */
export async function setAvailability(lab: SwarmLab, index: number, availability: 'drain' | 'active'): Promise<void> {
  const node = lab.manager.getNode(lab.node(index).id);
  const current = await node.inspect();
  await node.update({ version: current.Version.Index, ...current.Spec, Availability: availability });
}

/** Every service and network a test pool left on the lab: on the manager and on each node. */
export async function removeSwarmPool(lab: SwarmLab, poolName: string): Promise<void> {
  const services = await lab.manager.listServices({ filters: { label: [`pooldeck.pool=${poolName}`] } });
  await Promise.all(services.map((s) => lab.manager.getService(s.ID!).remove().catch(() => undefined)));
  await eventually(async () => (await lab.manager.listTasks({ filters: { label: [`pooldeck.pool=${poolName}`] } })).length === 0, 20_000, 250);
  await lab.manager.getNetwork(`pooldeck_${poolName}`).remove().catch(() => undefined);
  for (const node of lab.nodes) await node.docker.getNetwork(`pooldeck_${poolName}_isolated`).remove().catch(() => undefined);
}
