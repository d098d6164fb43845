/** The signed-in user's containers and the pool's free counts, kept live by socket events. */
import type { LiveContainer, PoolCounts } from '../../../shared/events.ts';
import { ask, type PoolSocket } from './api.ts';

export interface Notice {
  id: number;
  text: string;
  tone: 'info' | 'warn';
}

let noticeSeq = 0;

class Containers {
  list = $state<LiveContainer[]>([]);
  counts = $state<PoolCounts>({});
  notices = $state<Notice[]>([]);
  loaded = $state(false);

  types = $derived(Object.keys(this.counts).sort());

  upsert(container: LiveContainer): void {
    const index = this.list.findIndex((c) => c.id === container.id);
    if (index >= 0) this.list[index] = container;
    else this.list = [...this.list, container].sort((a, b) => a.id - b.id);
  }

  remove(id: number): void {
    this.list = this.list.filter((c) => c.id !== id);
  }

  notice(text: string, tone: Notice['tone'] = 'info'): void {
    const id = ++noticeSeq;
    this.notices = [...this.notices.slice(-4), { id, text, tone }];
    setTimeout(() => this.dismiss(id), 15_000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  attach(socket: PoolSocket): void {
    socket.on('container:updated', (c) => this.upsert(c));
    socket.on('container:released', ({ id }) => this.remove(id));
    socket.on('pool:counts', (counts) => {
      this.counts = counts;
    });
    socket.on('container:recovered', (e) => this.notice(`${e.name} stopped unexpectedly and was rebuilt with your files in ${(e.durationMs / 1000).toFixed(1)} s.`));
    socket.on('container:moved', (e) => this.notice(`${e.from} could not be rebuilt; your container moved to ${e.to} with your files.`, 'warn'));
    socket.on('container:stranded', (e) => this.notice(`${e.name}: ${e.message}`, 'warn'));
    socket.on('container:restarted', (e) =>
      this.notice(`An admin ${e.kind === 'restart' ? 'restarted' : 'recreated'} ${e.name}; it is serving again with your files (${(e.durationMs / 1000).toFixed(1)} s).`),
    );
    socket.on('container:expiring', (e) =>
      this.notice(
        `${e.name} will be released at ${new Date(e.deadline).toLocaleTimeString()} because it ${e.reason === 'idle' ? 'has not been used for a while' : 'reached its maximum lifetime'}. Save what you need.`,
        'warn',
      ),
    );
    socket.on('container:expired', (e) =>
      this.notice(`${e.name} was released because it ${e.reason === 'idle' ? 'was not used for a while' : 'reached its maximum lifetime'}.`, 'warn'),
    );
  }

  async sync(): Promise<void> {
    const [list, counts] = await Promise.all([ask('container:list'), ask('pool:counts')]);
    this.list = list.sort((a, b) => a.id - b.id);
    this.counts = counts;
    this.loaded = true;
  }

  async launch(type: string): Promise<LiveContainer> {
    const container = await ask('container:launch', { type });
    this.upsert(container);
    return container;
  }

  async release(id: number): Promise<void> {
    await ask('container:release', { id });
    this.remove(id);
  }

  reset(): void {
    this.list = [];
    this.counts = {};
    this.notices = [];
    this.loaded = false;
  }
}

export const containers = new Containers();
