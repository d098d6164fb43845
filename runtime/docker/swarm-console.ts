/** ContainerConsole on a Swarm: terminal, logs and stats go to the engine of the node that runs the container. */
import type { LogLine } from '../../shared/console-events.ts';
import type { ContainerConsole, LogOptions, RawStats, Shell, ShellOptions, Subscription } from './console.ts';
import { DockerodeConsole } from './docker-console.ts';
import type { SwarmEngine } from './swarm-engine.ts';

export class SwarmConsole implements ContainerConsole {
  constructor(private readonly swarm: SwarmEngine) {}

  private on(containerId: string): DockerodeConsole {
    return new DockerodeConsole(this.swarm.dockerOf(containerId));
  }

  shell(containerId: string, options: ShellOptions): Promise<Shell> {
    return this.on(containerId).shell(containerId, options);
  }

  logs(containerId: string, options: LogOptions, onLines: (lines: LogLine[]) => void, onEnd: (error?: string) => void): Promise<Subscription> {
    return this.on(containerId).logs(containerId, options, onLines, onEnd);
  }

  stats(containerId: string, onSample: (sample: RawStats) => void, onEnd: (error?: string) => void): Promise<Subscription> {
    return this.on(containerId).stats(containerId, onSample, onEnd);
  }
}
