/** Drive test/support/deck-process.ts: start it, send commands, SIGKILL it. */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

export interface ChildDeck {
  proc: ChildProcess;
  port: number;
  send<T = Record<string, unknown>>(command: Record<string, unknown>): Promise<T>;
  kill(): Promise<void>;
  stderr(): string;
}

export async function startChildDeck(env: Record<string, string>, timeoutMs = 120_000): Promise<ChildDeck> {
  const proc = spawn(process.execPath, ['--import=tsx', 'test/support/deck-process.ts'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const lines = readline.createInterface({ input: proc.stdout! });
  const queue: Array<(line: string) => void> = [];
  lines.on('line', (line) => queue.shift()?.(line));
  const next = () => new Promise<string>((resolve) => queue.push(resolve));
  const ready = await Promise.race([
    next().then((l) => JSON.parse(l)),
    new Promise((_, reject) => proc.once('exit', (code) => reject(new Error(`deck exited ${code}: ${err.slice(-2000)}`)))),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`deck not ready: ${err.slice(-2000)}`)), timeoutMs)),
  ]) as { port: number };
  return {
    proc,
    port: ready.port,
    async send(command) {
      const answer = next();
      proc.stdin!.write(JSON.stringify(command) + '\n');
      return JSON.parse(await answer);
    },
    kill() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
    },
    stderr: () => err,
  };
}
