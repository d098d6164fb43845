/** ContainerConsole on a real dockerd through dockerode: exec with a TTY, logs, stats. */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import type { LogLine } from '../../shared/console-events.ts';
import { FrameDemuxer, LineSplitter, type ContainerConsole, type LogOptions, type RawStats, type Shell, type ShellOptions, type Subscription } from './console.ts';
import { EngineError } from './engine.ts';

/** The terminal's process: a login bash where the image has one, else sh. */
const SHELL = 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l';

/**
 * Docker cannot kill an exec, so every terminal's shell carries `POOLDECK_TERMINAL=<marker>` in
 * its environment, inherited by all it starts. Closing finds those processes through /proc
 * (readable for processes of the same user, which is who this runs as), hangs them up, and kills
 * what is still alive a second later. Uses only sh, tr and grep: present in Debian and busybox images.
 */
const HANG_UP = `
m="POOLDECK_TERMINAL=$1"
pids=""
for d in /proc/[0-9]*; do
  p=\${d#/proc/}
  [ "$p" = "$$" ] && continue
  if tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qx "$m"; then pids="$pids $p"; fi
done
[ -n "$pids" ] || exit 0
kill -HUP $pids 2>/dev/null
i=0
while [ $i -lt 10 ]; do
  alive=""
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
  [ -n "$alive" ] || exit 0
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
kill -KILL $alive 2>/dev/null
exit 0
`;

/** Readings without numbers in a row before a stats stream gives up. */
const EMPTY_READINGS = 3;
/** Typed input a shell may leave unread (bytes) before more is refused. */
const MAX_UNREAD_INPUT = 256 * 1024;

const describe = (error: unknown) => (error as { json?: { message?: string } }).json?.message ?? (error as Error).message ?? String(error);

export class DockerodeConsole implements ContainerConsole {
  constructor(private readonly docker: Docker) {}

  async shell(containerId: string, options: ShellOptions): Promise<Shell> {
    const container = this.docker.getContainer(containerId);
    let user = options.user;
    if (!user) {
      try {
        user = (await container.inspect()).Config.User || 'root';
      } catch (error) {
        throw new EngineError(containerId, `inspect failed: ${describe(error)}`);
      }
    }
    const marker = randomUUID();
    let exec: Docker.Exec;
    let stream: Duplex;
    try {
      exec = await container.exec({
        Cmd: ['/bin/sh', '-c', SHELL],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: true,
        Env: ['TERM=xterm-256color', `POOLDECK_TERMINAL=${marker}`],
        User: options.user,
        WorkingDir: options.workdir,
      });
      stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
    } catch (error) {
      throw new EngineError(containerId, `could not start a shell: ${describe(error)}`);
    }
    return new DockerShell(this.docker, containerId, user, options, exec, stream, marker);
  }

  async logs(containerId: string, options: LogOptions, onLines: (lines: LogLine[]) => void, onEnd: (error?: string) => void): Promise<Subscription> {
    const container = this.docker.getContainer(containerId);
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const demuxer = new FrameDemuxer();
    const deliver = (chunk: Buffer) => {
      const lines: LogLine[] = [];
      demuxer.push(chunk, (source, payload) => {
        for (const text of splitters[source].push(payload)) lines.push({ source, text });
      });
      if (lines.length) onLines(lines);
    };
    const finish = (error?: string) => {
      const rest: LogLine[] = [];
      for (const source of ['stdout', 'stderr'] as const) for (const text of splitters[source].flush()) rest.push({ source, text });
      if (rest.length) onLines(rest);
      onEnd(error);
    };
    const base = { stdout: true, stderr: true, tail: options.tail };
    try {
      if (!options.follow) {
        const buffer = await container.logs({ ...base, follow: false });
        let stopped = false;
        // After the caller has had the chance to acknowledge the subscription.
        setImmediate(() => {
          if (stopped) return;
          deliver(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer as unknown as string));
          finish();
        });
        // The tail is bounded (MAX_TAIL lines) and already read: nothing to pause.
        return { stop: () => void (stopped = true), pause() {}, resume() {} };
      }
      const stream = (await container.logs({ ...base, follow: true })) as unknown as Duplex;
      return follow(stream, deliver, finish);
    } catch (error) {
      throw new EngineError(containerId, `could not read the logs: ${describe(error)}`);
    }
  }

  async stats(containerId: string, onSample: (sample: RawStats) => void, onEnd: (error?: string) => void): Promise<Subscription> {
    let stream: Duplex;
    try {
      stream = (await this.docker.getContainer(containerId).stats({ stream: true })) as unknown as Duplex;
    } catch (error) {
      throw new EngineError(containerId, `could not read the stats: ${describe(error)}`);
    }
    const splitter = new LineSplitter();
    let empty = 0;
    const subscription = follow(
      stream,
      (chunk) => {
        for (const line of splitter.push(chunk)) {
          if (!line.trim()) continue;
          let raw: RawStats;
          try {
            raw = JSON.parse(line) as RawStats;
          } catch {
            continue; // a partial or odd line
          }
          // Docker sends zeros stamped 0001-01-01 when it cannot read the container's cgroups.
          if (!raw.cpu_stats?.cpu_usage || !raw.read || raw.read.startsWith('0001-')) {
            empty += 1;
            if (empty === EMPTY_READINGS) {
              subscription.stop();
              onEnd('Docker has no numbers for this container (it cannot read its cgroups on this host)');
            }
            continue;
          }
          empty = 0;
          onSample(raw);
        }
      },
      onEnd,
    );
    return subscription;
  }
}

/** Read a Docker stream until it ends or `stop()`; `onEnd` fires once either way. */
function follow(stream: Duplex, onChunk: (chunk: Buffer) => void, onEnd: (error?: string) => void): Subscription {
  let ended = false;
  const end = (error?: string) => {
    if (ended) return;
    ended = true;
    onEnd(error);
  };
  stream.on('data', onChunk);
  stream.on('end', () => end());
  stream.on('close', () => end());
  stream.on('error', (error) => end(describe(error)));
  return {
    stop() {
      ended = true;
      stream.destroy();
    },
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  };
}

class DockerShell implements Shell {
  private readonly outputListeners: Array<(data: string) => void> = [];
  private readonly exitListeners: Array<(code: number | null) => void> = [];
  private readonly decoder = new StringDecoder('utf8');
  /** Output that came before anyone listened (the first prompt). */
  private early: string[] = [];
  private exitCode: number | null | undefined = undefined;
  private exited: Promise<number | null>;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly containerId: string,
    readonly user: string,
    private readonly options: ShellOptions,
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    private readonly marker: string,
  ) {
    stream.on('data', (chunk: Buffer) => this.deliver(this.decoder.write(chunk)));
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = async () => {
        if (done) return;
        done = true;
        this.deliver(this.decoder.end());
        const code = await exec.inspect().then((i) => (i.Running ? null : i.ExitCode ?? null)).catch(() => null);
        this.exitCode = code;
        for (const l of this.exitListeners) l(code);
        resolve(code);
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
    });
    void this.resize(options.cols, options.rows);
  }

  private deliver(text: string) {
    if (!text) return;
    if (this.outputListeners.length === 0) this.early.push(text);
    else for (const l of this.outputListeners) l(text);
  }

  onOutput(listener: (data: string) => void): void {
    this.outputListeners.push(listener);
    const early = this.early.join('');
    this.early = [];
    if (early) listener(early);
  }

  onExit(listener: (code: number | null) => void): void {
    if (this.exitCode !== undefined) {
      const code = this.exitCode;
      queueMicrotask(() => listener(code));
    } else this.exitListeners.push(listener);
  }

  write(data: string): boolean {
    if (this.stream.destroyed || !this.stream.writable) return false;
    // What Docker has not taken yet stays in this stream: past the bound the shell is not reading.
    if (this.stream.writableLength >= MAX_UNREAD_INPUT) return false;
    this.stream.write(data);
    return true;
  }

  async resize(cols: number, rows: number): Promise<void> {
    try {
      await this.exec.resize({ h: rows, w: cols });
    } catch {
      /* the shell is gone or not started yet; the next resize will do */
    }
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  close(): Promise<void> {
    this.closing ??= this.hangUp();
    return this.closing;
  }

  private async hangUp(): Promise<void> {
    try {
      const kill = await this.docker.getContainer(this.containerId).exec({
        Cmd: ['/bin/sh', '-c', HANG_UP, 'pooldeck-hangup', this.marker],
        AttachStdout: true,
        AttachStderr: true,
        User: this.options.user,
      });
      const out = (await kill.start({ hijack: true, stdin: false })) as Duplex;
      out.resume();
      await new Promise<void>((resolve) => {
        out.on('end', resolve);
        out.on('close', resolve);
        out.on('error', () => resolve());
      });
    } catch {
      /* the container is gone, and the shell with it */
    }
    this.stream.destroy();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 3000).unref())]);
  }
}
