/**
 * The benchmark's Pooldeck, in its own process so that its memory is measured alone and the
 * load generator does not share its event loop. Started with the env of a test config; prints
 * `{"ready":true,"port":N}` once the pool is up, then answers JSON commands on stdin, one per
 * line, each carrying an `id` that its answer repeats (commands run concurrently):
 *   {"id":1,"op":"rss"}        → {"id":1,"ok":true,"rss":…,"rssAfterGc":…,"heapUsed":…}
 *   {"id":2,"op":"sweep"}      → the SweepRecord of one health sweep run now
 *   {"id":3,"op":"subscribe"}  → from then on, unsolicited `{"event":"slot",name,state,phase,at}` lines
 *   {"id":4,"op":"slots"} | {"op":"doubles"} | {"op":"stop"}
 */
import readline from 'node:readline';
import { loadConfig } from '../../runtime/config.ts';
import { createLogger } from '../../runtime/logger.ts';
import { startPooldeck } from '../../runtime/server.ts';

const config = loadConfig();
const deck = await startPooldeck(config, { log: createLogger('warn', {}, (line) => process.stderr.write(line + '\n')) });
const out = (message: Record<string, unknown>) => process.stdout.write(JSON.stringify(message) + '\n');
let subscribed = false;

deck.runtime.on('slot', (slot) => {
  if (subscribed) out({ event: 'slot', name: slot.name, state: slot.state, phase: slot.phase, at: slot.since });
});
deck.runtime.on('recovery', (e) => {
  if (subscribed) out({ event: 'recovery', name: e.name, durationMs: e.durationMs, at: Date.now() });
});

const gc = (globalThis as { gc?: () => void }).gc;

async function handle(command: { id: number; op: string }): Promise<Record<string, unknown>> {
  switch (command.op) {
    case 'subscribe':
      subscribed = true;
      return {};
    case 'rss': {
      const before = process.memoryUsage();
      gc?.();
      return { rss: before.rss, heapUsed: before.heapUsed, rssAfterGc: process.memoryUsage().rss, slots: deck.runtime.slots().length };
    }
    case 'sweep':
      return { ...(await deck.runtime.runHealthCheck()) };
    case 'slots':
      return { slots: deck.runtime.slots() };
    case 'doubles': {
      // Slots holding more than one live assignment in SQLite, and live assignments the pool does not know.
      const doubles = await deck.db.all(`SELECT slot_name, COUNT(*) AS n FROM assignments WHERE released_at IS NULL AND pool_name = ? GROUP BY slot_name HAVING n > 1`, config.poolName);
      const active = await deck.db.all<Array<{ id: number; slot_name: string }>>(`SELECT id, slot_name FROM assignments WHERE released_at IS NULL AND pool_name = ?`, config.poolName);
      const held = new Map(deck.runtime.slots().filter((s) => s.assignment).map((s) => [s.assignment!.id, s.name]));
      const unknown = active.filter((a) => held.get(a.id) !== a.slot_name);
      return { doubles, active: active.length, held: held.size, unknown };
    }
    case 'stop':
      await deck.stop();
      out({ id: command.id, ok: true });
      process.exit(0);
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

out({ ready: true, port: deck.port });
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  handle(command).then(
    (result) => out({ id: command.id, ok: true, ...result }),
    (error) => out({ id: command.id, ok: false, error: (error as Error).message }),
  );
});
