/** ContainerEngine on a real dockerd through dockerode. */
import Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import type { ObservedContainer } from '../../machines/types.ts';
import { EngineError, type ContainerEngine, type EngineEvent, type ExecResult, type RunSpec } from './engine.ts';
import type { Logger } from '../logger.ts';
import { bridgeName } from '../security/host-firewall.ts';

const WATCHED = ['die', 'stop', 'oom', 'destroy'];
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

export const POOL_LABEL = 'pooldeck.pool';

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

function describe(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}

export class DockerodeEngine implements ContainerEngine {
  readonly docker: Docker;

  constructor(
    private readonly poolName: string,
    private readonly log: Logger,
    docker?: Docker,
    private readonly network = `pooldeck_${poolName}`,
  ) {
    this.docker = docker ?? new Docker();
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw new EngineError('dockerd', `not reachable (${describe(error)}); is the Docker engine running?`);
    }
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /** The pool bridge's interface name on the host, which the host firewall matches (pd-+). */
  get bridge(): string {
    return bridgeName(this.poolName);
  }

  /**
   * A bridge network without inter-container traffic, so pool containers cannot reach each other,
   * whose host interface is named `pd-<pool>` so the host firewall's rules match it. A network
   * made by an older Pooldeck (interface br-<id>) is replaced, with this pool's containers on it
   * (the pool recreates them at start, files and assignments kept); one with foreign containers
   * attached is left alone and reported.
   */
  async ensureNetwork(): Promise<string> {
    const existing = (await this.docker.listNetworks({ filters: { name: [this.network] } })).find((n) => n.Name === this.network);
    if (existing) {
      if (existing.Options?.[BRIDGE_NAME_OPTION] === this.bridge) return this.network;
      const info = await this.docker.getNetwork(existing.Id).inspect();
      const attached = Object.keys(info.Containers ?? {});
      const ours = await Promise.all(attached.map((id) => this.docker.getContainer(id).inspect().then((c) => c.Config.Labels?.[POOL_LABEL] === this.poolName, () => true)));
      if (!ours.every(Boolean)) {
        this.log.warn('network.unnamed_bridge', { network: this.network, reason: 'containers of other owners are attached; the host firewall cannot match this bridge until it is recreated' });
        return this.network;
      }
      this.log.warn('network.recreated', { network: this.network, bridge: this.bridge, containers: attached.length, reason: 'made before pool bridges had predictable names' });
      for (const id of attached) await this.remove(id);
      await this.docker.getNetwork(existing.Id).remove();
    }
    try {
      await this.docker.createNetwork({
        Name: this.network,
        Driver: 'bridge',
        Labels: { [POOL_LABEL]: this.poolName },
        Options: { 'com.docker.network.bridge.enable_icc': 'false', [BRIDGE_NAME_OPTION]: this.bridge },
      });
    } catch (error) {
      if (statusOf(error) !== 409) throw new EngineError(this.network, describe(error));
    }
    return this.network;
  }

  /** The pool network's subnets (for the control-plane guard). */
  async networkSubnets(): Promise<string[]> {
    const info = await this.docker.getNetwork(this.network).inspect();
    return ((info.IPAM?.Config ?? []) as Array<{ Subnet?: string }>).map((c) => c.Subnet).filter((s): s is string => Boolean(s));
  }

  /** The pool network's gateway: the host as its containers see it. */
  async networkGateway(): Promise<string | null> {
    const info = await this.docker.getNetwork(this.network).inspect();
    return ((info.IPAM?.Config ?? []) as Array<{ Gateway?: string }>).map((c) => c.Gateway).find((g): g is string => Boolean(g)) ?? null;
  }

  async list(): Promise<ObservedContainer[]> {
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${POOL_LABEL}=${this.poolName}`] } });
    return containers.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), running: c.State === 'running' }));
  }

  async run(spec: RunSpec): Promise<string> {
    const port = `${spec.containerPort}/tcp`;
    const options: Docker.ContainerCreateOptions = {
      name: spec.name,
      Image: spec.image,
      Labels: { ...spec.labels, [POOL_LABEL]: this.poolName },
      ExposedPorts: { [port]: {} },
      HostConfig: {
        PortBindings: { [port]: [{ HostIp: spec.bind, HostPort: String(spec.hostPort) }] },
        Binds: spec.mounts.map((m) => `${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`),
        CapDrop: ['ALL'],
        CapAdd: spec.capAdd,
        SecurityOpt: ['no-new-privileges'],
        Privileged: false,
        PidsLimit: spec.pidsLimit,
        Memory: spec.memoryBytes,
        NanoCpus: spec.nanoCpus,
        LogConfig: { Type: 'json-file', Config: { 'max-size': spec.logMaxSize, 'max-file': '2' } },
        NetworkMode: this.network,
        RestartPolicy: { Name: 'no' },
      },
    };
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (error) {
      if (statusOf(error) !== 409) throw new EngineError(spec.name, `create failed: ${describe(error)}`, statusOf(error));
      await this.removeLeftover(spec.name);
      container = await this.docker.createContainer(options);
    }
    try {
      await container.start();
    } catch (error) {
      await this.remove(container.id).catch(() => undefined);
      throw new EngineError(spec.name, `start failed: ${describe(error)}`, statusOf(error));
    }
    return container.id;
  }

  /**
   * A container already holds the name: remove it only if it is this pool's (a leftover of a
   * crash). Anyone else's container is never touched, whatever its name.
   */
  private async removeLeftover(name: string): Promise<void> {
    let owner: string | undefined;
    try {
      owner = (await this.docker.getContainer(name).inspect()).Config.Labels?.[POOL_LABEL];
    } catch (error) {
      if (statusOf(error) === 404) return; // gone meanwhile
      throw new EngineError(name, `create failed: the name is taken and the container holding it could not be inspected (${describe(error)})`, statusOf(error));
    }
    if (owner !== this.poolName) {
      this.log.warn('container.name_taken', { name, owner: owner ?? null });
      throw new EngineError(
        name,
        `a container named ${name} exists and is not this pool's (${owner ? `label ${POOL_LABEL}=${owner}` : `no ${POOL_LABEL} label`}); Pooldeck does not remove it — rename or remove it, or choose other ports (POOLDECK_PORTS_<TYPE>) or another POOLDECK_POOL_NAME`,
        409,
      );
    }
    await this.remove(name);
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      if (statusOf(error) === 304) return;
      throw new EngineError(id, `start failed: ${describe(error)}`, statusOf(error));
    }
  }

  async stop(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: 3 });
    } catch (error) {
      if (statusOf(error) === 304) return;
      throw new EngineError(id, `stop failed: ${describe(error)}`, statusOf(error));
    }
  }

  async remove(idOrName: string): Promise<void> {
    try {
      await this.docker.getContainer(idOrName).remove({ force: true, v: true });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status === 409 && /already in progress/.test(describe(error))) return;
      throw new EngineError(idOrName, `remove failed: ${describe(error)}`, status);
    }
  }

  async exec(id: string, cmd: string[], stdin?: string): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: cmd,
      AttachStdin: stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: stdin !== undefined });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    this.docker.modem.demuxStream(stream, out, out);
    if (stdin !== undefined) stream.end(stdin);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const info = await exec.inspect();
    return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
  }

  /**
   * The kernel's OOM killer in a container's cgroup may kill a child process while PID 1 lives
   * on: that is the holder's business, not a death. So `oom` is never passed on as news of a
   * death; the container's state decides: one whose PID 1 was killed also sends `die`, which is.
   */
  private async noteOom(raw: { Actor?: { ID?: string; Attributes?: { name?: string } }; id?: string }): Promise<void> {
    const containerId = raw.Actor?.ID ?? raw.id ?? '';
    const name = raw.Actor?.Attributes?.name ?? '';
    const running = await this.docker.getContainer(containerId).inspect().then((c) => c.State.Running, () => false);
    if (running) this.log.info('container.oom.survived', { name, containerId: containerId.slice(0, 12), reason: 'a process in the container was killed for memory; the container runs on' });
    else this.log.warn('container.oom', { name, containerId: containerId.slice(0, 12), reason: 'the container ran out of memory and stopped' });
  }

  watch(onEvent: (event: EngineEvent) => void, onState?: (connected: boolean, error?: string) => void): () => void {
    let stopped = false;
    let current: NodeJS.ReadableStream | null = null;
    let retry: NodeJS.Timeout | null = null;
    const connect = async () => {
      if (stopped) return;
      try {
        const stream = (await this.docker.getEvents({
          filters: { type: ['container'], event: WATCHED, label: [`${POOL_LABEL}=${this.poolName}`] },
        })) as NodeJS.ReadableStream;
        if (stopped) {
          // stop() ran while the stream was being opened: nothing else will ever close it.
          (stream as unknown as { destroy?: () => void }).destroy?.();
          return;
        }
        current = stream;
        onState?.(true);
        let buffer = '';
        stream.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let newline;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (!line) continue;
            try {
              const raw = JSON.parse(line);
              if ((raw.Action ?? raw.status) === 'oom') {
                void this.noteOom(raw);
                continue;
              }
              onEvent({
                action: raw.Action ?? raw.status,
                containerId: raw.Actor?.ID ?? raw.id,
                name: raw.Actor?.Attributes?.name ?? '',
                at: raw.timeNano ? Math.round(raw.timeNano / 1e6) : Date.now(),
              });
            } catch (error) {
              this.log.warn('docker.event.unparsed', { line: line.slice(0, 200), error: describe(error) });
            }
          }
        });
        const reconnect = (why: string) => {
          if (current !== stream) return;
          current = null;
          onState?.(false, why);
          schedule();
        };
        stream.on('end', () => reconnect('event stream ended'));
        stream.on('error', (error) => reconnect(describe(error)));
      } catch (error) {
        onState?.(false, describe(error));
        schedule();
      }
    };
    const schedule = () => {
      if (stopped || retry) return;
      retry = setTimeout(() => {
        retry = null;
        void connect();
      }, 1000);
    };
    void connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      const stream = current as unknown as { destroy?: () => void } | null;
      current = null;
      stream?.destroy?.();
    };
  }
}
