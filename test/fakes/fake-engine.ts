/** An in-memory ContainerEngine that records every call. For unit tests of the machines only. */
import type { ObservedContainer } from '../../machines/types.ts';
import type { ContainerEngine, EngineEvent, ExecResult, RunSpec } from '../../runtime/docker/engine.ts';

interface FakeContainer {
  id: string;
  name: string;
  running: boolean;
  spec: RunSpec;
}

export class FakeEngine implements ContainerEngine {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: Array<{ op: string; target: string }> = [];
  readonly execs: Array<{ id: string; cmd: string[]; stdin?: string }> = [];
  private listeners: Array<(e: EngineEvent) => void> = [];
  private next = 1;
  /** Make the next N `run` calls fail. */
  failRuns = 0;
  /** Calls that have started and not yet returned. */
  inFlight = 0;
  private heldRuns: Array<() => void> | null = null;
  images = new Set<string>(['pooldeck/nginx:latest', 'pooldeck/apache:latest', 'pooldeck/python:latest', 'pooldeck/node:latest', 'pooldeck/ssh:latest']);

  /** From now on `run` calls wait (already recorded) until `releaseRuns()`. */
  holdRuns() {
    this.heldRuns ??= [];
  }

  releaseRuns() {
    const waiting = this.heldRuns ?? [];
    this.heldRuns = null;
    waiting.forEach((go) => go());
  }

  /** How many `run` calls are waiting on `holdRuns()`. */
  get runsHeld() {
    return this.heldRuns?.length ?? 0;
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
    }
  }

  count(op: string) {
    return this.calls.filter((c) => c.op === op).length;
  }

  async ping() {}

  async hasImage(image: string) {
    return this.images.has(image);
  }

  async list(): Promise<ObservedContainer[]> {
    this.calls.push({ op: 'list', target: '*' });
    return [...this.containers.values()].map(({ id, name, running }) => ({ id, name, running }));
  }

  async run(spec: RunSpec): Promise<string> {
    this.calls.push({ op: 'run', target: spec.name });
    return this.track(async () => {
      if (this.heldRuns) await new Promise<void>((go) => this.heldRuns!.push(go));
      return this.runNow(spec);
    });
  }

  private runNow(spec: RunSpec): string {
    if (this.failRuns > 0) {
      this.failRuns -= 1;
      throw new Error(`${spec.name}: simulated run failure`);
    }
    for (const c of this.containers.values()) if (c.name === spec.name) this.containers.delete(c.id);
    const id = `fake${String(this.next++).padStart(8, '0')}`;
    this.containers.set(id, { id, name: spec.name, running: true, spec });
    return id;
  }

  async start(id: string) {
    this.calls.push({ op: 'start', target: id });
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error(`${id}: no such container`), { statusCode: 404 });
    c.running = true;
  }

  /** Stops the container and tells watchers it died, as Docker's event stream does. */
  async stop(id: string) {
    this.calls.push({ op: 'stop', target: id });
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error(`${id}: no such container`), { statusCode: 404 });
    if (!c.running) return;
    c.running = false;
    for (const l of this.listeners) l({ action: 'die', containerId: id, name: c.name, at: Date.now() });
  }

  async remove(idOrName: string) {
    this.calls.push({ op: 'remove', target: idOrName });
    for (const c of this.containers.values()) if (c.id === idOrName || c.name === idOrName) this.containers.delete(c.id);
  }

  async exec(id: string, cmd: string[], stdin?: string): Promise<ExecResult> {
    this.calls.push({ op: 'exec', target: id });
    this.execs.push({ id, cmd, stdin });
    return { exitCode: 0, output: '' };
  }

  watch(onEvent: (e: EngineEvent) => void) {
    this.listeners.push(onEvent);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== onEvent);
    };
  }

  // ---- what the outside world does to containers ----

  byName(name: string) {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  kill(name: string, silently = false) {
    const c = this.byName(name)!;
    c.running = false;
    if (!silently) this.listeners.forEach((l) => l({ action: 'die', containerId: c.id, name, at: Date.now() }));
  }

  /** `docker stop`: the container exists, not running. */
  stopFromOutside(name: string, silently = false) {
    const c = this.byName(name)!;
    c.running = false;
    if (!silently) this.listeners.forEach((l) => l({ action: 'stop', containerId: c.id, name, at: Date.now() }));
  }

  destroy(name: string, silently = false) {
    const c = this.byName(name)!;
    this.containers.delete(c.id);
    if (!silently) {
      this.listeners.forEach((l) => l({ action: 'die', containerId: c.id, name, at: Date.now() }));
      this.listeners.forEach((l) => l({ action: 'destroy', containerId: c.id, name, at: Date.now() }));
    }
  }
}
