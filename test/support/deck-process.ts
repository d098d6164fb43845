/**
 * A Pooldeck in its own process, for tests that kill the runtime. Started with the env of
 * testEnv(); prints one JSON line `{"ready":true,"port":N}` when the pool is up, then reads
 * commands from stdin, one JSON per line, and answers each with one JSON line:
 *   {"op":"launch","type":"nginx","user":"ann"} → {"ok":true,"assignment":…,"slot":…}
 *   {"op":"slots"} → {"ok":true,"slots":[…]}
 */
import readline from 'node:readline';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { startPooldeck } from '../../runtime/server.ts';

const config = loadConfig();
const deck = await startPooldeck(config, { log: createLogger('warn', {}, (line) => process.stderr.write(line + '\n')) });
const users = new Map<string, number>();

async function userId(username: string): Promise<number> {
  if (!users.has(username)) {
    await deck.db.run(`INSERT OR IGNORE INTO users (username, email, password_hash) VALUES (?, ?, 'x')`, username, `${username}@test`);
    const row = await deck.db.get<{ id: number }>(`SELECT id FROM users WHERE username = ?`, username);
    users.set(username, row!.id);
  }
  return users.get(username)!;
}

process.stdout.write(JSON.stringify({ ready: true, port: deck.port }) + '\n');
for await (const line of readline.createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    if (command.op === 'launch') {
      const result = await deck.runtime.launch({ id: await userId(command.user), username: command.user }, command.type);
      process.stdout.write(JSON.stringify({ ok: true, ...result }) + '\n');
    } else if (command.op === 'slots') {
      process.stdout.write(JSON.stringify({ ok: true, slots: deck.runtime.slots() }) + '\n');
    } else process.stdout.write(JSON.stringify({ ok: false, error: `unknown op ${command.op}` }) + '\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: (error as Error).message }) + '\n');
  }
}
