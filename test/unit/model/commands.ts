/**
 * The commands of the model-based test: what users, admins, Docker and time do to the pool.
 * Each runs against a ModelPool and checks the invariants afterwards. A command with
 * `settle: false` returns while the pool's work is still under way, so the next command
 * interleaves with it.
 */
import fc from 'fast-check';
import { ModelPool, TYPES, USERS } from './model-pool.ts';

type Model = Record<string, never>;

export abstract class Step implements fc.AsyncCommand<Model, ModelPool> {
  constructor(readonly settle = true) {}
  check() {
    return true;
  }
  abstract act(pool: ModelPool): void | Promise<void>;
  abstract describe(): string;
  async run(_model: Model, pool: ModelPool) {
    await this.act(pool);
    if (this.settle) await pool.checkSettled(this.toString());
    else pool.checkAlways(this.toString());
  }
  toString() {
    return this.describe() + (this.settle ? '' : '~');
  }
}

export class Launch extends Step {
  constructor(readonly user: number, readonly type: string, settle?: boolean) {
    super(settle);
  }
  act(pool: ModelPool) {
    const user = USERS[this.user % USERS.length]!;
    pool.request('launch', (requestId) => pool.actor.send({ type: 'pool.launch', requestId, kind: this.type, userId: user.id, username: user.username, at: pool.now() }));
  }
  describe() {
    return `launch(${USERS[this.user % USERS.length]!.username}, ${this.type})`;
  }
}

/** Release the k-th held assignment (or, with nothing held, a release nobody holds). */
export class Release extends Step {
  constructor(readonly k: number, settle?: boolean) {
    super(settle);
  }
  act(pool: ModelPool) {
    const held = pool.held();
    const slot = held[this.k % Math.max(1, held.length)];
    const name = slot?.name ?? pool.slots()[0]?.name ?? 'pool_nginx_0_8000';
    const assignmentId = slot?.assignment?.id ?? 999_999;
    pool.request('release', (requestId) => pool.actor.send({ type: 'pool.release', requestId, name, assignmentId }));
  }
  describe() {
    return `release(#${this.k})`;
  }
}

/** What happens to a container outside Pooldeck: docker kill, stop or rm, with or without the event. */
export class Docker extends Step {
  constructor(readonly action: 'kill' | 'stop' | 'rm', readonly k: number, readonly silently: boolean, settle?: boolean) {
    super(settle);
  }
  act(pool: ModelPool) {
    const containers = [...pool.engine.containers.values()].sort((a, b) => a.name.localeCompare(b.name));
    const target = containers[this.k % Math.max(1, containers.length)];
    if (!target) return;
    if (this.action === 'kill') pool.engine.kill(target.name, this.silently);
    else if (this.action === 'stop') pool.engine.stopFromOutside(target.name, this.silently);
    else pool.engine.destroy(target.name, this.silently);
  }
  describe() {
    return `docker ${this.action} #${this.k}${this.silently ? ' (no event)' : ''}`;
  }
}

export class Sweep extends Step {
  act(pool: ModelPool) {
    pool.actor.send({ type: 'health.runNow' });
  }
  describe() {
    return 'sweep';
  }
}

export class Resize extends Step {
  constructor(readonly type: string, readonly size: number, settle?: boolean) {
    super(settle);
  }
  act(pool: ModelPool) {
    pool.request('resize', (requestId) => pool.actor.send({ type: 'pool.resize', requestId, kind: this.type, size: this.size }));
  }
  describe() {
    return `resize(${this.type}, ${this.size})`;
  }
}

/** Remove the k-th slot from the pool (refused when it is held). */
export class Remove extends Step {
  constructor(readonly k: number, settle?: boolean) {
    super(settle);
  }
  act(pool: ModelPool) {
    const slots = pool.slots();
    const slot = slots[this.k % Math.max(1, slots.length)];
    const name = slot?.name ?? 'pool_nginx_9_8009';
    pool.request('remove', (requestId) => pool.actor.send({ type: 'pool.remove', requestId, name }), slot?.type);
  }
  describe() {
    return `remove(#${this.k})`;
  }
}

export class Reinit extends Step {
  act(pool: ModelPool) {
    pool.request('reinit', (requestId) => pool.actor.send({ type: 'pool.reinit', requestId }));
  }
  describe() {
    return 'reinit';
  }
}

/** Time passes: health sweeps, retry back-offs, idle and lifetime expiry. */
export class Advance extends Step {
  constructor(readonly ms: number) {
    super(true);
  }
  act(pool: ModelPool) {
    return pool.advance(this.ms);
  }
  describe() {
    return `advance(${this.ms / 1000} s)`;
  }
}

/** The holder of the k-th assignment uses it (files, terminal): it is not idle. */
export class Touch extends Step {
  constructor(readonly k: number) {
    super(true);
  }
  act(pool: ModelPool) {
    const held = pool.held();
    const slot = held[this.k % Math.max(1, held.length)];
    if (slot?.assignment) pool.actor.send({ type: 'pool.touch', assignmentId: slot.assignment.id, at: pool.now() });
  }
  describe() {
    return `touch(#${this.k})`;
  }
}

export class Monitor extends Step {
  constructor(readonly paused: boolean) {
    super(true);
  }
  act(pool: ModelPool) {
    pool.actor.send({ type: this.paused ? 'health.pause' : 'health.resume' });
  }
  describe() {
    return this.paused ? 'pause monitor' : 'resume monitor';
  }
}

export class Restart extends Step {
  constructor() {
    super(true);
  }
  act(pool: ModelPool) {
    return pool.restart();
  }
  describe() {
    return 'restart runtime';
  }
}

/** Docker becomes slow: container creations wait until released (or the end of the run). */
export class HoldRuns extends Step {
  constructor(readonly hold: boolean) {
    super(true);
  }
  act(pool: ModelPool) {
    if (this.hold) pool.engine.holdRuns();
    else pool.engine.releaseRuns();
  }
  describe() {
    return this.hold ? 'docker slow (runs held)' : 'docker fast (runs released)';
  }
}

export class FailRuns extends Step {
  constructor(readonly n: number) {
    super(true);
  }
  act(pool: ModelPool) {
    pool.engine.failRuns = this.n;
  }
  describe() {
    return `next ${this.n} docker run(s) fail`;
  }
}

export class FailReleases extends Step {
  constructor(readonly n: number) {
    super(true);
  }
  act(pool: ModelPool) {
    pool.store.failReleases = this.n;
  }
  describe() {
    return `next ${this.n} stored release(s) fail`;
  }
}

const settle = fc.boolean();
const index = fc.nat({ max: 7 });
const type = fc.constantFrom(...TYPES);

export const commandArbitraries: Array<fc.Arbitrary<Step>> = [
  fc.tuple(fc.nat({ max: 2 }), type, settle).map(([u, t, s]) => new Launch(u, t, s)),
  fc.tuple(fc.nat({ max: 2 }), type, settle).map(([u, t, s]) => new Launch(u, t, s)),
  fc.tuple(index, settle).map(([k, s]) => new Release(k, s)),
  fc.tuple(fc.constantFrom('kill' as const, 'stop' as const, 'rm' as const), index, fc.boolean(), settle).map(([a, k, q, s]) => new Docker(a, k, q, s)),
  settle.map((s) => new Sweep(s)),
  fc.oneof(
    fc.tuple(fc.constant('nginx'), fc.nat({ max: 6 }), settle),
    fc.tuple(fc.constant('ssh'), fc.nat({ max: 3 }), settle),
  ).map(([t, n, s]) => new Resize(t, n, s)),
  fc.tuple(index, settle).map(([k, s]) => new Remove(k, s)),
  settle.map((s) => new Reinit(s)),
  fc.constantFrom(1_000, 10_000, 30_000, 61_000, 130_000).map((ms) => new Advance(ms)),
  index.map((k) => new Touch(k)),
  fc.boolean().map((p) => new Monitor(p)),
  fc.constant(new Restart()),
  fc.boolean().map((h) => new HoldRuns(h)),
  fc.integer({ min: 1, max: 4 }).map((n) => new FailRuns(n)),
  fc.integer({ min: 1, max: 2 }).map((n) => new FailReleases(n)),
];
