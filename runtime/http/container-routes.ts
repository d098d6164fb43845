/**
 * The caller's containers: list, launch, release, ssh credentials and files. Every route that
 * takes an :id answers 404 unless the assignment is the caller's own, so nobody learns whether
 * someone else's container exists.
 */
import { Router, type Request } from 'express';
import type { SlotView } from '../../machines/types.ts';
import { typeSpec, type Config } from '../config.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { RequestError } from './request-error.ts';
import type { PoolStore } from '../store/pool-store.ts';
import { userOf } from './auth.ts';
import type { SlotUploads } from './upload.ts';
import { idParam } from './validate.ts';
import { validBody } from './api/request-validation.ts';
import { Bodies } from './api/schemas.ts';
import { containerView } from './views.ts';

export interface ContainerRouteDeps {
  config: Config;
  runtime: PoolRuntime;
  store: PoolStore;
  uploads: SlotUploads;
}

/** The slot holding assignment :id, if it is the caller's; 404 otherwise. */
export function ownedSlot(req: Request, runtime: PoolRuntime): { slot: SlotView; assignmentId: number; userId: number } {
  const user = userOf(req);
  const assignmentId = idParam(req.params.id, 'container');
  const slot = runtime.slotOfAssignment(assignmentId);
  if (!slot || slot.assignment?.userId !== user.id) throw new RequestError(404, 'no such container');
  runtime.touch(assignmentId); // the holder is using it: not idle
  return { slot, assignmentId, userId: user.id };
}

export function containerRoutes({ config, runtime, store, uploads }: ContainerRouteDeps): Router {
  const router = Router();
  /** Right before an upload is moved into place: the same slot still holds the caller's assignment. */
  const stillHeld = (assignmentId: number, userId: number, slotName: string) => () => {
    const now = runtime.slotOfAssignment(assignmentId);
    return now?.name === slotName && now.assignment?.userId === userId;
  };

  router.get('/pool', (req, res) => {
    userOf(req);
    res.json({ pool: runtime.counts() });
  });

  router.get('/containers', (req, res) => {
    const user = userOf(req);
    const mine = runtime.slots().filter((s) => s.assignment?.userId === user.id);
    res.json({ containers: mine.map((s) => containerView(s, config)).sort((a, b) => (a.id ?? 0) - (b.id ?? 0)) });
  });

  router.post('/containers', async (req, res) => {
    const user = userOf(req);
    const { type } = validBody(req, Bodies.launch);
    if (!typeSpec(config, type)) throw new RequestError(400, `unknown container type "${type}"; known: ${Object.keys(config.types).join(', ')}`);
    const { slot, assignment } = await runtime.launch(user, type);
    res.status(201).json({ container: containerView({ ...slot, assignment }, config) });
  });

  router.get('/containers/:id', (req, res) => {
    const { slot } = ownedSlot(req, runtime);
    res.json({ container: containerView(slot, config) });
  });

  router.delete('/containers/:id', async (req, res) => {
    const { assignmentId } = ownedSlot(req, runtime);
    await runtime.release(assignmentId);
    res.json({ ok: true, id: assignmentId });
  });

  router.get('/containers/:id/credentials', async (req, res) => {
    const { slot, assignmentId, userId } = ownedSlot(req, runtime);
    if (config.types[slot.type]?.protocol !== 'ssh') throw new RequestError(400, 'only ssh containers have login credentials');
    let credentials = slot.assignment?.credentials ?? null;
    if (!credentials) {
      const row = (await store.activeAssignments(userId)).find((a) => a.id === assignmentId);
      if (row?.ssh_password) credentials = { username: 'user', password: row.ssh_password, keys: JSON.parse(row.ssh_keys ?? '[]') };
    }
    if (!credentials) throw new RequestError(409, 'the credentials are being set up; try again in a moment');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ username: credentials.username, password: credentials.password, keys: credentials.keys.length, ssh: containerView(slot, config).ssh });
  });

  router.get('/containers/:id/files', async (req, res) => {
    const { slot } = ownedSlot(req, runtime);
    res.json({ files: await uploads.list(slot.name) });
  });

  router.post('/containers/:id/files', async (req, res) => {
    const { slot, assignmentId, userId } = ownedSlot(req, runtime);
    const files = await uploads.upload(req, slot, stillHeld(assignmentId, userId, slot.name), userId);
    res.status(201).json({ files });
  });

  router.delete('/containers/:id/files/:name', async (req, res) => {
    const { slot } = ownedSlot(req, runtime);
    await uploads.remove(slot.name, String(req.params.name));
    res.json({ ok: true });
  });

  return router;
}
