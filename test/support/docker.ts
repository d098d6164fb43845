/** Things done to containers from outside Pooldeck, as an operator or a crash would. */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 60_000 });
  return stdout.trim();
}

/** Ids of every container (running or not) of one pool. */
export async function poolContainers(poolName: string): Promise<Array<{ id: string; name: string; state: string }>> {
  const out = await docker('ps', '-a', '--no-trunc', '--filter', `label=pooldeck.pool=${poolName}`, '--format', '{{.ID}} {{.Names}} {{.State}}');
  return out ? out.split('\n').map((l) => { const [id, name, state] = l.split(' '); return { id, name, state }; }) : [];
}

/** Read the first line a TCP server sends (an SSH banner). */
export function banner(port: number, host = '127.0.0.1', ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const timer = setTimeout(() => { socket.destroy(); resolve(''); }, ms);
    socket.once('data', (d) => { clearTimeout(timer); socket.destroy(); resolve(d.toString('utf8').split('\n')[0]); });
    socket.once('error', () => { clearTimeout(timer); resolve(''); });
  });
}
