/**
 * Admins: the pool's history for the monitor's charts. Loaded from `GET /api/admin/history`
 * (a day, from SQLite) when the monitor opens, then one `history:sample` at a time.
 */
import type { HistorySample } from '../../../shared/events.ts';
import { http, type PoolSocket } from './api.ts';

const KEEP_MS = 24 * 3600_000;

class History {
  samples = $state.raw<HistorySample[]>([]);
  sampleMs = $state(10_000);
  loaded = $state(false);

  attach(socket: PoolSocket): void {
    socket.on('history:sample', (sample) => {
      if (!this.loaded) return;
      const from = sample.at - KEEP_MS;
      const kept = this.samples[0] && this.samples[0].at < from ? this.samples.filter((s) => s.at >= from) : this.samples;
      this.samples = [...kept, sample];
    });
  }

  async sync(): Promise<void> {
    const { samples, sampleMs } = await http.history(24);
    this.samples = samples;
    this.sampleMs = sampleMs;
    this.loaded = true;
  }

  reset(): void {
    this.samples = [];
    this.loaded = false;
  }
}

export const history = new History();
