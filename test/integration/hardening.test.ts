/**
 * Container hardening, proven from outside and from inside a pool container: dropped
 * capabilities and limits on every container, no way to the next container, no way to the
 * control plane, published ports only on POOLDECK_BIND.
 */
import test from 'ava';
import { docker } from '../support/docker.ts';
import { fetchText, startTestDeck, type TestDeck } from '../support/server.ts';

let deck: TestDeck;

test.before(async () => {
  // Listen on every address, as production does, so that the guard (not the bind) is what stops containers.
  deck = await startTestDeck({ POOLDECK_POOL: 'nginx=2,ssh=1', POOLDECK_HOST: '0.0.0.0' });
});

test.after.always(async () => {
  await deck?.destroy();
});

const inspect = async (name: string) => JSON.parse(await docker('inspect', name))[0];

/** Run a bash snippet inside a container; returns exit code and output. */
async function inside(name: string, script: string): Promise<{ code: number; out: string }> {
  try {
    return { code: 0, out: await docker('exec', name, 'timeout', '5', 'bash', '-c', script) };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('When a pool container is created, then it has no capabilities beyond its list, no new privileges, limits, log caps and no Docker socket', async (t) => {
  for (const slot of deck.runtime.slots()) {
    const info = await inspect(slot.name);
    const host = info.HostConfig;
    t.deepEqual(host.CapDrop, ['ALL'], slot.name);
    t.deepEqual(host.CapAdd ?? [], deck.config.types[slot.type].capAdd, slot.name);
    t.true(host.SecurityOpt.includes('no-new-privileges'), slot.name);
    t.false(host.Privileged);
    t.is(host.PidsLimit, deck.config.limits.pidsLimit);
    t.is(host.Memory, deck.config.limits.memoryBytes);
    t.is(host.NanoCpus, deck.config.limits.nanoCpus);
    t.is(host.LogConfig.Config['max-size'], deck.config.limits.logMaxSize);
    t.false(JSON.stringify(info.Mounts).includes('docker.sock'));
    const bindings = Object.values(host.PortBindings).flat() as Array<{ HostIp: string }>;
    t.true(bindings.every((b) => b.HostIp === '127.0.0.1'), 'published on POOLDECK_BIND only');
  }
});

test('When a pool container tries to reach another pool container, then the connection fails', async (t) => {
  const [a, b] = deck.runtime.slots().filter((s) => s.type === 'nginx');
  const network = `pooldeck_${deck.config.poolName}`;
  const ipB = (await inspect(b.name)).NetworkSettings.Networks[network].IPAddress;
  t.truthy(ipB);
  const self = await inside(a.name, `exec 3<>/dev/tcp/127.0.0.1/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; head -c 12 <&3`);
  t.regex(self.out, /^HTTP\/1\.1 200/, 'control: the container reaches its own server');
  const other = await inside(a.name, `exec 3<>/dev/tcp/${ipB}/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; head -c 12 <&3`);
  t.notRegex(other.out, /HTTP/, `no answer from ${b.name} at ${ipB}`);
  t.not(other.code, 0);
});

test('When a pool container tries to reach the control plane on the host, then it gets nothing', async (t) => {
  const [a] = deck.runtime.slots();
  const network = `pooldeck_${deck.config.poolName}`;
  const gateway = (await inspect(a.name)).NetworkSettings.Networks[network].Gateway;
  t.truthy(gateway);
  t.is((await fetchText(`${deck.url}/healthz`)).status, 200, 'control: the control plane answers on the host');
  const attempt = await inside(a.name, `exec 3<>/dev/tcp/${gateway}/${deck.port}; printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`);
  t.notRegex(attempt.out, /HTTP|ok/, `no answer from ${gateway}:${deck.port}`);
});
