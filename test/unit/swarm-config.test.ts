import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../runtime/config.ts';
import { dockerOptions, nodeSettingsFromEnv, readTls, resolveNode } from '../../runtime/docker/swarm-config.ts';
import { serviceOfTaskName } from '../../runtime/docker/swarm-engine.ts';
import { tarOf } from '../../runtime/docker/swarm-files.ts';

const TYPES = ['nginx', 'apache', 'python', 'node', 'ssh'];

test('When an engine endpoint is given as unix://, tcp:// (with or without certificates) or ssh://, then dockerode gets the matching options', (t) => {
  t.deepEqual(dockerOptions('unix:///run/docker.sock', null), { socketPath: '/run/docker.sock' });
  t.deepEqual(dockerOptions('tcp://127.0.0.1:23751', null), { host: '127.0.0.1', port: 23751, protocol: 'http' });
  t.like(dockerOptions('tcp://manager.example:2376', { ca: 'CA', cert: 'CERT', key: 'KEY' }), { host: 'manager.example', port: 2376, protocol: 'https', ca: 'CA', cert: 'CERT', key: 'KEY' });
  t.like(dockerOptions('ssh://admin@node2.example:2222', null), { protocol: 'ssh', host: 'node2.example', port: 2222, username: 'admin' });
  t.throws(() => dockerOptions('ftp://x:1', null), { message: /unix:\/\/, tcp:\/\/ or ssh:\/\// });
  t.throws(() => dockerOptions('tcp://nohost', null), { message: /host and a port/ });
});

test('When POOLDECK_DOCKER_CERT_PATH names a directory, then its three PEM files are read at start, and a missing one stops the server', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-tls-'));
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(path.join(dir, f), f);
  t.deepEqual(readTls(dir), { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' });
  rmSync(path.join(dir, 'key.pem'));
  t.throws(() => loadConfig({ POOLDECK_ENGINE: 'swarm', POOLDECK_DOCKER_CERT_PATH: dir }), { instanceOf: ConfigError, message: /key\.pem/ });
  rmSync(dir, { recursive: true, force: true });
});

test('When the engine settings are wrong, then the server refuses to start with a sentence', (t) => {
  t.throws(() => loadConfig({ POOLDECK_ENGINE: 'kubernetes' }), { instanceOf: ConfigError, message: /docker or swarm/ });
  t.throws(() => loadConfig({ POOLDECK_NODE_N1_ENGINE: 'tcp://a:1' }), { instanceOf: ConfigError, message: /need POOLDECK_ENGINE=swarm/ });
  t.throws(() => loadConfig({ POOLDECK_ENGINE: 'swarm', POOLDECK_NODE_PORTS_N1_NGINX: '90-10' }), { instanceOf: ConfigError, message: /port range/ });
  t.throws(() => loadConfig({ POOLDECK_ENGINE: 'swarm', POOLDECK_WARM: 'nginx=1:3' }), { instanceOf: ConfigError, message: /not supported/ });
  t.is(loadConfig({}).engine.kind, 'docker', 'one local engine stays the default');
  t.like(loadConfig({ POOLDECK_ENGINE: 'swarm', POOLDECK_POOL: 'nginx=500' }).sizes, { nginx: 500 }, 'on a Swarm the nodes\' ranges bound the sizes, at start');
});

test('When a node has labels and POOLDECK_NODE_* settings, then the settings win and its types and port ranges follow', (t) => {
  const env = nodeSettingsFromEnv({ POOLDECK_NODE_SWARMLAB_NODE2_ENGINE: 'tcp://127.0.0.1:23752', POOLDECK_NODE_PORTS_SWARMLAB_NODE2_SSH: '9290-9291', POOLDECK_NODE_SWARMLAB_NODE2_TYPES: 'nginx,ssh' }, TYPES);
  const labels = { 'pooldeck.engine': 'tcp://10.0.0.2:2376', 'pooldeck.public-host': 'node2.example', 'pooldeck.ports.nginx': '9200-9209', 'pooldeck.ports.ssh': '9280-9289', 'pooldeck.ports.apache': '9220-9229' };
  const node = resolveNode('swarmlab-node2', labels, env.SWARMLAB_NODE2, TYPES, '10.0.0.2');
  t.deepEqual(node, { engine: 'tcp://127.0.0.1:23752', publicHost: 'node2.example', ports: { nginx: { portStart: 9200, portEnd: 9209 }, ssh: { portStart: 9290, portEnd: 9291 } } });
  const shared = resolveNode('n3', { 'pooldeck.ports': '9300-9319', 'pooldeck.types': 'nginx,python' }, undefined, TYPES, '10.0.0.3');
  t.deepEqual(shared.ports, { nginx: { portStart: 9300, portEnd: 9319 }, python: { portStart: 9300, portEnd: 9319 } });
  t.is(shared.publicHost, '10.0.0.3', 'without a public host label, the node\'s own address');
  t.is(shared.engine, null);
  t.deepEqual(resolveNode('n4', { 'pooldeck.ports': 'nginx=9400-9404,ssh=9405-9406' }, undefined, TYPES, 'x').ports, { nginx: { portStart: 9400, portEnd: 9404 }, ssh: { portStart: 9405, portEnd: 9406 } });
});

test('When a task container\'s name is seen in an event, then it maps back to its slot', (t) => {
  t.is(serviceOfTaskName('/pool_nginx_0_9100.1.x3k9a8b7c6d5e4f3g2h1i0j9k'), 'pool_nginx_0_9100');
  t.is(serviceOfTaskName('pool_ssh_1_9280'), 'pool_ssh_1_9280');
});

test('When files are archived for a container, then tar reads them back as root-owned 0644 files, long names included', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-tar-'));
  const long = `${'a'.repeat(120)}.html`;
  const archive = tarOf([
    { name: 'index.html', data: Buffer.from('<h1>hi</h1>'), mtime: Date.now() },
    { name: long, data: Buffer.alloc(1000, 7), mtime: Date.now() },
  ]);
  t.is(archive.length % 512, 0);
  writeFileSync(path.join(dir, 'x.tar'), archive);
  const listing = execFileSync('tar', ['-tvf', path.join(dir, 'x.tar'), '--numeric-owner'], { encoding: 'utf8' });
  t.regex(listing, /-rw-r--r-- 0\/0\s+11 .* index\.html/);
  mkdirSync(path.join(dir, 'out'));
  execFileSync('tar', ['-xf', path.join(dir, 'x.tar'), '-C', path.join(dir, 'out')]);
  t.is(readFileSync(path.join(dir, 'out', 'index.html'), 'utf8'), '<h1>hi</h1>');
  t.is(statSync(path.join(dir, 'out', long)).size, 1000);
  rmSync(dir, { recursive: true, force: true });
});
