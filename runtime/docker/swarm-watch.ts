/**
 * The Swarm manager's node events (a node marked down, back ready, drained), followed with
 * reconnects. Each event, and each (re)connection, calls `onChange` once the burst settles; the
 * caller then reads the node list, so a missed event costs nothing but a little delay.
 */
import type Docker from 'dockerode';
import type { Logger } from '../logger.ts';

const RETRY_MS = 1000;
const SETTLE_MS = 50;

export function watchNodeEvents(manager: Docker, log: Logger, onChange: () => Promise<void>): () => void {
  let stopped = false;
  let current: (NodeJS.ReadableStream & { destroy?: () => void }) | null = null;
  let retry: NodeJS.Timeout | null = null;
  let pending: NodeJS.Timeout | null = null;

  const changed = () => {
    if (stopped || pending) return;
    pending = setTimeout(() => {
      pending = null;
      onChange().catch((error) => log.warn('swarm.nodes.refresh_failed', { error: String(error) }));
    }, SETTLE_MS);
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, RETRY_MS);
  };
  const connect = async () => {
    try {
      const stream = (await manager.getEvents({ filters: { type: ['node'] } })) as NodeJS.ReadableStream & { destroy?: () => void };
      if (stopped) return void stream.destroy?.();
      current = stream;
      changed();
      stream.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (text.includes('"node"')) {
          log.debug('swarm.node.event', { event: text.trim().slice(0, 300) });
          changed();
        }
      });
      const lost = (why: string) => {
        if (current !== stream) return;
        current = null;
        log.warn('swarm.manager.events_lost', { error: why });
        schedule();
      };
      stream.on('end', () => lost('event stream ended'));
      stream.on('error', (error: Error) => lost(error.message));
    } catch (error) {
      log.warn('swarm.manager.events_failed', { error: (error as Error).message });
      schedule();
    }
  };
  void connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    if (pending) clearTimeout(pending);
    current?.destroy?.();
    current = null;
  };
}
