/**
 * Start-up repair of ssh assignments whose credentials were never stored: a crash between
 * writing the assignment and setting its password leaves a row without a password, which the
 * credentials route would answer "being set up" for ever. For each such live assignment, set a
 * new password (and the user's keys) in its container and store it, as a hand-out would.
 * Runs after the pool has started, before the server reports ready.
 */
import { randomBytes } from 'node:crypto';
import { typeSpec, type Config } from '../config.ts';
import type { ContainerEngine } from '../docker/engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolStore } from '../store/pool-store.ts';
import type { PoolRuntime } from './pool-runtime.ts';

export interface RepairDeps {
  config: Config;
  runtime: PoolRuntime;
  store: PoolStore;
  engine: ContainerEngine;
  log: Logger;
  userKeys?: (userId: number) => Promise<string[]>;
}

/** The ids of the assignments that got credentials. Failures are logged, never thrown. */
export async function repairSshCredentials({ config, runtime, store, engine, log, userKeys }: RepairDeps): Promise<number[]> {
  const repaired: number[] = [];
  const rows = (await store.activeAssignments()).filter((row) => !row.ssh_password && typeSpec(config, row.type)?.protocol === 'ssh');
  for (const row of rows) {
    const slot = runtime.slotOfAssignment(row.id);
    if (!slot?.containerId || slot.assignment?.credentials) continue;
    try {
      const password = randomBytes(12).toString('base64url');
      const keys = (await userKeys?.(row.user_id)) ?? [];
      const result = await engine.exec(slot.containerId, ['pooldeck-credentials'], [password, ...keys].join('\n') + '\n');
      if (result.exitCode !== 0) throw new Error(`pooldeck-credentials exited ${result.exitCode}`);
      await store.saveCredentials(row.id, password, keys);
      repaired.push(row.id);
      log.warn('credentials.repaired', { slot: slot.name, assignment: row.id, message: 'an ssh assignment had no stored password (a crash during hand-out); a new one was set' });
    } catch (error) {
      log.error('credentials.repair_failed', { slot: slot.name, assignment: row.id, error: String(error) });
    }
  }
  return repaired;
}
