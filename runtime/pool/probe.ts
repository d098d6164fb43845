/**
 * Readiness: a slot is only reported available once its service answers through the published
 * port (Docker's proxy accepts TCP before the service listens, so a bare connect proves nothing):
 * an HTTP response of any status for web types, an `SSH-` banner for ssh.
 */
import net from 'node:net';

export type Protocol = 'http' | 'ssh';

function sshBanner(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

async function httpAnswer(host: string, port: number, ms: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(ms) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

export async function waitUntilServing(protocol: Protocol, host: string, port: number, timeoutMs = 15_000): Promise<number> {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host;
  const started = Date.now();
  for (let delay = 20; ; delay = Math.min(delay * 1.5, 250)) {
    const ok = protocol === 'ssh' ? await sshBanner(target, port, 1000) : await httpAnswer(target, port, 1000);
    if (ok) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${protocol} service on ${target}:${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
