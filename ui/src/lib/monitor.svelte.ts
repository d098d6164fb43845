/** Admins: the health monitor's status and its log of checks, newest first. */
import type { MonitorView, SweepView } from '../../../shared/events.ts';
import { ask, type PoolSocket } from './api.ts';

const KEEP = 200;

/** A sweep with a key that is unique on this page. */
export type LoggedSweep = SweepView & { key: number };
let seq = 0;
const logged = (sweep: SweepView): LoggedSweep => ({ ...sweep, key: ++seq });

class Monitor {
  status = $state<MonitorView | null>(null);
  sweeps = $state<LoggedSweep[]>([]);

  attach(socket: PoolSocket): void {
    socket.on('monitor:sweep', (sweep) => {
      this.sweeps = [logged(sweep), ...this.sweeps].slice(0, KEEP);
      if (this.status) this.status.lastSweep = sweep;
    });
    socket.on('monitor:status', (status) => {
      this.status = status;
    });
  }

  async sync(): Promise<void> {
    const { status, sweeps } = await ask('monitor:get');
    this.status = status;
    this.sweeps = sweeps.map(logged);
  }

  async run(): Promise<SweepView> {
    return ask('monitor:run');
  }

  async pause(): Promise<void> {
    this.status = await ask('monitor:pause');
  }

  async resume(): Promise<void> {
    this.status = await ask('monitor:resume');
  }

  async setInterval(seconds: number): Promise<void> {
    this.status = await ask('monitor:interval', { seconds });
  }

  reset(): void {
    this.status = null;
    this.sweeps = [];
  }
}

export const monitor = new Monitor();
