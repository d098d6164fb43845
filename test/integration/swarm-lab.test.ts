/**
 * Smoke test of the Swarm lab (ops/scripts/swarm-lab.sh): what the Swarm engine adapter and its
 * tests build on. Two Ready nodes with Pooldeck's labels; a service pinned to node2 with a
 * host-mode port answers at 127.0.0.1; killing its task through node2's engine shows on node2's
 * event stream; tasks on one node cannot reach each other nor any node's engine API; `up` repairs
 * what went missing. Serial: the cases share node2.
 */
import { PassThrough } from 'node:stream';
import test from 'ava';
import type Docker from 'dockerode';
import { ensureSwarmLab, eventually, type LabNode, type SwarmLab } from '../support/swarm-lab.ts';

const IMAGE = process.env.POOLDECK_IMAGE_NGINX || 'pooldeck/nginx:latest';
const RUN = `smoke${process.pid}`;
let lab: SwarmLab;
const services: string[] = [];

test.before(async (t) => {
  t.timeout(10 * 60_000, 'first lab start builds the node image and loads the pool images');
  lab = await ensureSwarmLab();
});

test.after.always(async () => {
  for (const name of services) await lab?.manager.getService(name).remove().catch(() => undefined);
});

/** A one-replica nginx service pinned to `node`, published in host mode on `port`. */
async function pinnedService(node: LabNode, port: number, suffix: string, network?: string): Promise<string> {
  const name = `${RUN}_${suffix}`;
  await lab.manager.createService({
    Name: name,
    Labels: { 'pooldeck.swarmlab.test': RUN },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Init: true, Labels: { 'pooldeck.swarmlab.test': RUN } },
      Placement: { Constraints: [`node.hostname==${node.name}`] },
      RestartPolicy: { Condition: 'none' },
      ...(network ? { Networks: [{ Target: network }] } : {}),
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: port, PublishMode: 'host' }] },
  });
  services.push(name);
  return name;
}

/** The id of the service's running task container, once there is one. */
async function taskContainer(service: string, ms = 30_000): Promise<string> {
  let id = '';
  const seen = await eventually(async () => {
    const tasks = await lab.manager.listTasks({ filters: { service: [service], 'desired-state': ['running'] } });
    const running = tasks.find((task) => task.Status?.State === 'running');
    id = running?.Status?.ContainerStatus?.ContainerID ?? '';
    return id !== '';
  }, ms, 100);
  if (!seen.ok) throw new Error(`${service}: no running task after ${ms} ms`);
  return id;
}

async function answers(port: number, ms = 30_000): Promise<{ ok: boolean; ms: number }> {
  const status = () => fetch(`http://127.0.0.1:${port}/`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0);
  return eventually(async () => (await status()) === 200, ms, 100);
}

/** Runs a bash snippet in a container through `docker`; exit code and output. */
async function inside(docker: Docker, id: string, script: string): Promise<{ code: number; out: string }> {
  const exec = await docker.getContainer(id).exec({ Cmd: ['timeout', '1.5', 'bash', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  let out = '';
  sink.on('data', (d: Buffer) => (out += d.toString('utf8')));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.on('end', resolve));
  const info = await exec.inspect();
  return { code: info.ExitCode ?? -1, out };
}

/** A bash snippet that connects to host:port and prints the first bytes of an HTTP answer. */
const connect = (host: string, port: number) =>
  `exec 3<>/dev/tcp/${host}/${port} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3`;

test.serial('When the lab is up, then the Swarm has two Ready nodes labelled with their engine, public host, types and port ranges', async (t) => {
  t.true(lab.nodes.length >= 2, `nodes: ${lab.nodes.map((n) => n.name).join(', ')}`);
  const listed = await lab.manager.listNodes();
  for (const node of lab.nodes.slice(0, 2)) {
    const seen = listed.find((n) => n.ID === node.id);
    t.is(seen?.Status?.State, 'ready', node.name);
    t.is(node.labels['pooldeck.public-host'], '127.0.0.1');
    t.is(node.engine, `tcp://127.0.0.1:${23750 + node.index}`);
    t.deepEqual(node.labels['pooldeck.types']?.split(','), ['nginx', 'apache', 'python', 'node', 'ssh']);
    for (const type of ['nginx', 'apache', 'python', 'node', 'ssh']) t.truthy(node.ports[type], `${node.name} ${type}`);
    const info = await node.docker.info();
    t.is(info.Swarm?.NodeID, node.id, `${node.engine} is the engine of ${node.name}`);
    t.true((await node.docker.listImages({ filters: { reference: [IMAGE] } })).length > 0, `${IMAGE} on ${node.name}`);
  }
  t.is(lab.env.POOLDECK_ENGINE, 'swarm');
  t.is(lab.env.POOLDECK_DOCKER_HOST, lab.node(1).engine);
  t.is(lab.env.POOLDECK_PUBLIC_HOST, '127.0.0.1');
});

test.serial('When a service with a host-mode port is pinned to node2, then it answers at 127.0.0.1, and a docker kill through node2 shows as die on node2\'s event stream', async (t) => {
  const node2 = lab.node(2);
  const port = node2.ports.nginx!.end;
  const started = Date.now();
  const name = await pinnedService(node2, port, 'http');
  const id = await taskContainer(name);
  const served = await answers(port);
  t.true(served.ok, `http://127.0.0.1:${port}/ answers`);
  t.log(`service create → HTTP 200 at 127.0.0.1:${port}: ${Date.now() - started} ms`);
  t.truthy(await node2.docker.getContainer(id).inspect(), 'the task container lives on node2');

  const events = (await node2.docker.getEvents({ filters: { type: ['container'], container: [id], event: ['die'] } })) as NodeJS.ReadableStream & { destroy(): void };
  const died = new Promise<{ status: string; id: string }>((resolve) => {
    let buffer = '';
    events.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) resolve(JSON.parse(line));
      }
    });
  });
  const killed = Date.now();
  await node2.docker.getContainer(id).kill();
  const event = await Promise.race([died, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
  events.destroy();
  t.truthy(event, 'a die event within 10 s');
  t.is(event?.status, 'die');
  t.is(event?.id, id);
  t.log(`docker kill → die event on node2's stream: ${Date.now() - killed} ms`);
});

/** Two tasks of this run on `node`, on `network` or the node's default bridge; the first one's probes. */
async function neighbours(node: LabNode, suffix: string, network?: string) {
  const [a, b] = [node.spare.start, node.spare.start + 1];
  const first = await pinnedService(node, a, `${suffix}a`, network);
  const second = await pinnedService(node, b, `${suffix}b`, network);
  const [idA, idB] = [await taskContainer(first), await taskContainer(second)];
  t_ok(await answers(a), a);
  t_ok(await answers(b), b);
  const ipOf = async (id: string) => {
    const nets = (await node.docker.getContainer(id).inspect()).NetworkSettings.Networks;
    return Object.values(nets)[0]?.IPAddress ?? '';
  };
  return { idA, ipB: await ipOf(idB), portB: b };
}
function t_ok(result: { ok: boolean }, port: number) {
  if (!result.ok) throw new Error(`127.0.0.1:${port} does not answer`);
}

test.serial('When two tasks run on one node, then neither reaches the other directly nor any node\'s engine API (default bridge with --icc=false, and a swarm bridge network from a config-only network with enable_icc=false)', async (t) => {
  const node2 = lab.node(2);
  // The documented Pooldeck-managed network (docs/swarm.md, "Networking"): a config-only network on
  // every node's engine, one swarm-scoped bridge network on the manager made from it.
  const config = 'swarmlab_smoke_cfg';
  const network = 'swarmlab_smoke';
  for (const node of lab.nodes) {
    const existing = await node.docker.listNetworks({ filters: { name: [config] } });
    if (!existing.some((n) => n.Name === config)) {
      await node.docker.createNetwork({ Name: config, ConfigOnly: true, Options: { 'com.docker.network.bridge.enable_icc': 'false' }, IPAM: { Config: [{ Subnet: '172.30.251.0/24' }] } } as Docker.NetworkCreateOptions);
    }
  }
  if (!(await lab.manager.listNetworks({ filters: { name: [network] } })).some((n) => n.Name === network)) {
    await lab.manager.createNetwork({ Name: network, Driver: 'bridge', Scope: 'swarm', ConfigFrom: { Network: config } } as Docker.NetworkCreateOptions);
  }
  for (const [suffix, net] of [['bridge', undefined], ['cfg', network]] as const) {
    const { idA, ipB, portB } = await neighbours(node2, suffix, net);
    t.truthy(ipB, `${suffix}: the second task has an address`);
    const direct = await inside(node2.docker, idA, connect(ipB, 80));
    t.not(direct.code, 0, `${suffix}: ${ipB}:80 reached from the neighbour: ${direct.out}`);
    const published = await inside(node2.docker, idA, connect(node2.ip, portB));
    t.is(published.code, 0, `${suffix}: the neighbour's published port answers like any public port: ${published.out}`);
    for (const node of lab.nodes) {
      const api = await inside(node2.docker, idA, connect(node.ip, 2375));
      t.not(api.code, 0, `${suffix}: ${node.name}'s engine API reached from a task: ${api.out}`);
    }
    for (const name of services.splice(-2)) await lab.manager.getService(name).remove().catch(() => undefined);
  }
});

test.serial('When a node lost a pool image and a label, then swarm-lab.sh up puts both back', async (t) => {
  t.timeout(5 * 60_000);
  const node2 = lab.node(2);
  // python: a type the Swarm engine's tests do not use, so a Pooldeck sharing the lab is not disturbed.
  const image = process.env.POOLDECK_IMAGE_PYTHON || 'pooldeck/python:latest';
  const label = 'pooldeck.ports.python';
  const before = node2.labels[label];
  const spec = await lab.manager.getNode(node2.id).inspect();
  const labels = { ...(spec.Spec.Labels as Record<string, string>) };
  delete labels[label];
  await lab.manager.getNode(node2.id).update({ version: spec.Version.Index, ...spec.Spec, Labels: labels });
  await node2.docker.getImage(image).remove({ force: true });

  const again = await ensureSwarmLab();
  t.is(again.node(2).labels[label], before);
  t.true((await node2.docker.listImages({ filters: { reference: [image] } })).length > 0, `${image} is back on node2`);
  t.is(again.node(2).id, node2.id, 'node2 kept its Swarm identity');
});
