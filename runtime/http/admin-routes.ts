/** /api/admin/*: users, registration and invites, the whole pool, and the health monitor. Admins only (403 otherwise). */
import { Router } from 'express';
import type { Accounts } from '../accounts/accounts.ts';
import { capacityOf, nodesOf } from '../../machines/pool.nodes.ts';
import { typeSpec, type Config } from '../config.ts';
import type { ContainerEngine } from '../docker/engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { RequestError } from './request-error.ts';
import type { SecurityStatus } from '../security/security-status.ts';
import type { PoolStore } from '../store/pool-store.ts';
import { adminOf } from './auth.ts';
import { removeAccount } from '../accounts/self-service.ts';
import { idParam, upTo } from './validate.ts';
import { validBody } from './api/request-validation.ts';
import { Bodies } from './api/schemas.ts';
import { adminSlotView, monitorView, nodeView, reinitView, resizeView, sweepView } from './views.ts';

export interface AdminRouteDeps {
  config: Config;
  runtime: PoolRuntime;
  store: PoolStore;
  engine: ContainerEngine;
  accounts: Accounts;
  log: Logger;
  security: SecurityStatus;
}

export function adminRoutes({ config, runtime, store, engine, accounts, log, security }: AdminRouteDeps): Router {
  const router = Router();
  router.use((req, _res, next) => {
    adminOf(req);
    next();
  });

  const knownType = (type: string) => {
    const spec = typeSpec(config, type);
    if (!spec) throw new RequestError(400, `unknown container type "${type}"; known: ${Object.keys(config.types).join(', ')}`);
    return spec;
  };
  /** The most slots a type can have: its port range on one engine; on a cluster, what the ready nodes' ranges of it hold. */
  const capacity = (type: string) => {
    const spec = knownType(type);
    const nodes = runtime.nodes();
    return nodes.length ? capacityOf(type, nodesOf(nodes)) : spec.portEnd - spec.portStart + 1;
  };
  const capacityText = (type: string) => {
    const spec = knownType(type);
    return runtime.nodes().length ? `the ready nodes' ${type} port ranges fit ${capacity(type)} at most` : `ports ${spec.portStart}-${spec.portEnd} fit ${capacity(type)} at most`;
  };
  const sizeOf = (type: string) => runtime.slots().filter((s) => s.type === type && s.phase !== 'retiring').length;

  async function resize(type: string, size: number) {
    const spec = knownType(type);
    if (size > sizeOf(type) && !(await engine.hasImage(spec.image))) {
      throw new RequestError(409, `image ${spec.image} is missing on this host; build the pool images first`);
    }
    return resizeView(await runtime.resize(type, size));
  }

  /** What the operator must fix about isolation (docs/security.md); the admin page shows it. */
  router.get('/security', (_req, res) => {
    res.json({ warnings: security.list() });
  });

  router.get('/users', async (_req, res) => {
    const held = new Map<number, number>();
    for (const slot of runtime.slots()) if (slot.assignment) held.set(slot.assignment.userId, (held.get(slot.assignment.userId) ?? 0) + 1);
    const users = (await accounts.listUsers()).map((u) => ({ ...u, containers: held.get(u.id) ?? 0 }));
    res.json({ users });
  });

  router.delete('/users/:id', async (req, res) => {
    const admin = adminOf(req);
    const id = idParam(req.params.id, 'user');
    if (id === admin.id) throw new RequestError(400, 'you cannot delete your own account');
    if (!(await accounts.store.userById(id))) throw new RequestError(404, 'no such user');
    const released = await removeAccount(accounts, runtime, id);
    log.info('admin.user_deleted', { admin: admin.username, id, released: released.length });
    res.json({ ok: true, released });
  });

  router.get('/registration', async (_req, res) => {
    res.json({ mode: await accounts.registration.mode(), invites: await accounts.registration.listInvites() });
  });

  router.put('/registration', async (req, res) => {
    const { mode } = validBody(req, Bodies.registrationMode);
    res.json({ mode: await accounts.registration.setMode(mode, adminOf(req).username) });
  });

  router.get('/invites', async (_req, res) => {
    res.json({ invites: await accounts.registration.listInvites() });
  });

  router.post('/invites', async (req, res) => {
    const { uses = 1, hours = 7 * 24, note = '' } = validBody(req, Bodies.invite);
    const invite = await accounts.registration.createInvite(adminOf(req).id, { uses, hours, note });
    res.status(201).json({ invite, note: 'the code is shown only this once' });
  });

  router.delete('/invites/:id', async (req, res) => {
    await accounts.registration.deleteInvite(idParam(req.params.id, 'invite'));
    res.json({ ok: true });
  });

  // On a Swarm, `nodes` lists every node with its state and slot counts (none on one engine).
  router.get('/pool', (_req, res) => {
    const nodes = runtime.nodes().map(nodeView);
    res.json({
      slots: runtime.slots().map((s) => adminSlotView(s, runtime.sinceOf(s.name))),
      counts: runtime.counts(),
      sizes: Object.fromEntries(Object.keys(config.types).map((t) => [t, sizeOf(t)])),
      ...(nodes.length ? { nodes } : {}),
    });
  });

  router.post('/pool/resize', async (req, res) => {
    const { type, size } = validBody(req, Bodies.resize);
    knownType(type);
    upTo('size', size, 0, capacity(type));
    res.json({ result: await resize(type, size) });
  });

  router.post('/pool/add', async (req, res) => {
    const { type, count } = validBody(req, Bodies.add);
    knownType(type);
    const current = sizeOf(type);
    upTo('count', count, 1, capacity(type));
    if (current + count > capacity(type)) throw new RequestError(400, `${type} has ${current} containers; ${capacityText(type)}`);
    res.json({ result: await resize(type, current + count) });
  });

  router.post('/pool/reinit', async (_req, res) => {
    res.json({ result: reinitView(await runtime.reinit()) });
  });

  router.delete('/containers/:name', async (req, res) => {
    const slot = runtime.slots().find((s) => s.name === req.params.name);
    if (!slot) throw new RequestError(404, 'no such container');
    if (!slot.assignment) throw new RequestError(409, `${slot.name} is not assigned to anyone`);
    const assignment = await runtime.release(slot.assignment.id);
    log.info('admin.released', { admin: adminOf(req).username, slot: slot.name, user: assignment.username });
    res.json({ ok: true, name: slot.name, user: assignment.username });
  });

  // Remove a slot from the pool for good (a held one is released first).
  router.delete('/slots/:name', async (req, res) => {
    const slot = runtime.slots().find((s) => s.name === req.params.name);
    if (!slot) throw new RequestError(404, 'no such container');
    if (slot.assignment) await runtime.release(slot.assignment.id);
    await runtime.remove(slot.name);
    log.info('admin.removed', { admin: adminOf(req).username, slot: slot.name, released: slot.assignment?.username ?? null });
    res.json({ ok: true, name: slot.name, released: slot.assignment?.username ?? null });
  });

  // Act on one slot through Docker; the slot's actor hears of it on Docker's event stream and
  // does what it always does: a stopped container is started again, a removed one recreated
  // (a held one in place, with its files). The rebuild is not counted as a recovery.
  router.post('/slots/:name/restart', async (req, res) => {
    const slot = await runtime.intervene('restart', String(req.params.name), adminOf(req));
    res.json({ ok: true, name: slot.name });
  });

  router.post('/slots/:name/recreate', async (req, res) => {
    const slot = await runtime.intervene('recreate', String(req.params.name), adminOf(req));
    res.json({ ok: true, name: slot.name });
  });

  router.get('/monitor', async (_req, res) => {
    res.json({
      monitor: monitorView(runtime.monitor()),
      sweeps: runtime.recentSweeps(20).map(sweepView),
      recoveries: await store.recentEvents(50, ['recovery', 'moved', 'stranded']),
    });
  });

  router.post('/monitor/run', async (_req, res) => {
    res.json({ sweep: sweepView(await runtime.runHealthCheck()), monitor: monitorView(runtime.monitor()) });
  });

  router.post('/monitor/pause', (_req, res) => {
    res.json({ monitor: monitorView(runtime.pauseMonitor()) });
  });

  router.post('/monitor/resume', (_req, res) => {
    res.json({ monitor: monitorView(runtime.resumeMonitor()) });
  });

  router.put('/monitor/interval', (req, res) => {
    const { seconds } = validBody(req, Bodies.interval);
    res.json({ monitor: monitorView(runtime.setHealthInterval(seconds)) });
  });

  return router;
}
