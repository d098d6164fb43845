/**
 * The deployment, for real: ops/ansible/site.yml run against a throwaway Debian 12 host.
 *
 * The host is a container with systemd as PID 1 (test/ops/host/Dockerfile, built from the
 * project's pooldeck/base:bookworm), reached with Ansible's community.docker.docker
 * connection. Inside it Pooldeck needs a Docker engine; it gets this machine's: the
 * engine's socket is bind-mounted in and the playbook runs with pooldeck_docker_install=false.
 * So that this Pooldeck and the others on the same engine never meet, it has its own pool
 * name (deploytest), its own port range (19900-19919, outside the 20000-59999 the other
 * tests draw from) and HTTP on 127.0.0.1:5900 (or the next free port). The throwaway host
 * shares this machine's network namespace, as a real host shares its engine's: Pooldeck
 * probes its containers through the ports they publish on 127.0.0.1. The engine resolves the
 * bind-mount paths of the pool's slot directories on THIS machine too, so the data directory
 * is the same path on both sides (/var/lib/pooldeck-deploytest).
 *
 * No internet in here: NodeSource is out of reach and the container cannot verify the npm
 * registry's TLS, so the playbook runs in its air-gapped "prebuilt" mode: the node binary
 * running this test (pooldeck_node_binary_src) and the checkout's node_modules/ (and dist/
 * when present) are copied, with the server compiled into the snapshot's build/ (the unit runs
 * `node build/server.js`), from a snapshot of the checkout taken at the start (other
 * people edit the checkout meanwhile; a moving source would make the second run change).
 * The apt-based steps run for real (Debian's mirror is reachable).
 *
 * Asserts: the first run succeeds; pooldeck.service is active, runs as pooldeck, got the
 * admin password through the env file intact, passes systemd-analyze verify; /healthz
 * answers 200; the pool container serves its welcome page; a second run has changed=0.
 *
 * Skips (with the reason as the test title) without runtime/main.ts, root, ansible-playbook,
 * rsync, a reachable Docker engine, or the images pooldeck/base:bookworm and
 * pooldeck/nginx:latest (`make images-if-missing`). POOLDECK_DEPLOYTEST_REQUIRED=1 turns
 * those skips into failures; POOLDECK_DEPLOYTEST_KEEP=1 keeps the host for a look.
 * Removes what it made: the container deploytest_host, the pool's containers (label
 * pooldeck.pool=deploytest) and network, its image, the data directory and temp files.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HOST = 'deploytest_host';
const HOST_IMAGE = 'pooldeck-deploytest-host:latest';
const BASE_IMAGE = process.env.POOLDECK_DEPLOYTEST_BASE || 'pooldeck/base:bookworm';
const POOL_IMAGE = 'pooldeck/nginx:latest';
const POOL_NAME = 'deploytest';
const DATA_DIR = '/var/lib/pooldeck-deploytest';
// Pooldeck's HTTP port on this machine's loopback (the throwaway host shares its network):
// 5900, or the next free one.
let HTTP_PORT = 5900;
const NGINX_PORTS = '19900-19919';
const DOCKER_SOCKET = '/var/run/docker.sock';
// A password that needs the env file's quoting: $, quotes, backquote, backslash, spaces.
const ADMIN_PASSWORD = 'deploy-$HOME "test" `pw` \\ end';
const REQUIRED = process.env.POOLDECK_DEPLOYTEST_REQUIRED === '1';
const KEEP = process.env.POOLDECK_DEPLOYTEST_KEEP === '1';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run a command; never throws. A command past its time is killed with its process group. */
function run(cmd: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(error), timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

const docker = (args: string[], timeoutMs = 60_000) => run('docker', args, { timeoutMs });
const inHost = (args: string[], timeoutMs = 60_000) => docker(['exec', HOST, ...args], timeoutMs);

function succeeds(cmd: string, args: string[], timeoutMs = 20_000): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Why this test cannot run here, or null. */
function missingPrerequisite(): string | null {
  if (!existsSync(path.join(ROOT, 'runtime/main.ts'))) return 'runtime/main.ts is missing (the app is not there yet)';
  if (process.getuid?.() !== 0) return 'needs root (it bind-mounts the Docker socket and a data directory)';
  if (!succeeds('ansible-playbook', ['--version'])) return 'ansible-playbook not found (apt-get install ansible)';
  if (!succeeds('rsync', ['--version'])) return 'rsync not found (apt-get install rsync)';
  if (!succeeds('docker', ['info'], 30_000)) return 'no Docker engine answers `docker info` (ops/scripts/ensure-docker.sh starts one)';
  for (const image of [BASE_IMAGE, POOL_IMAGE]) {
    if (!succeeds('docker', ['image', 'inspect', image])) return `image ${image} is missing (make images-if-missing)`;
  }
  if (!existsSync(path.join(ROOT, 'node_modules/esbuild/package.json'))) return 'node_modules is missing (npm ci)';
  return null;
}

/** PLAY RECAP numbers of the one host. */
function recap(output: string): Record<string, number> | null {
  const line = output.split('\n').find((l) => l.startsWith(`${HOST} `) && l.includes(' ok='));
  if (!line) return null;
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

/** Names of the tasks that reported "changed". */
function changedTasks(output: string): string[] {
  const names: string[] = [];
  let current = '';
  for (const line of output.split('\n')) {
    const task = /^(?:TASK|RUNNING HANDLER) \[(.+?)\]/.exec(line);
    if (task) current = task[1];
    else if (line.startsWith('changed:')) names.push(current);
  }
  return [...new Set(names)];
}

/** The first port in [from, to] that nothing listens on at 127.0.0.1. */
async function freePort(from: number, to: number): Promise<number> {
  for (let port = from; port <= to; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

let workDir = '';
let hostUp = false;
let deployed = false;

async function removeEverything(opts: { image: boolean }) {
  await inHost(['systemctl', 'stop', 'pooldeck'], 100_000);
  await docker(['rm', '-f', '-v', HOST]);
  const pool = await docker(['ps', '-aq', '--filter', `label=pooldeck.pool=${POOL_NAME}`]);
  const ids = pool.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', '-v', ...ids]);
  const networks = await docker(['network', 'ls', '-q', '--filter', `label=pooldeck.pool=${POOL_NAME}`]);
  for (const id of networks.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) await docker(['network', 'rm', id]);
  if (opts.image) await docker(['rmi', HOST_IMAGE]);
  rmSync(DATA_DIR, { recursive: true, force: true });
}

async function playbook(logName: string, varsFile = 'vars.json'): Promise<Result> {
  const src = path.join(workDir, 'src');
  const result = await run('ansible-playbook', ['-i', path.join(workDir, 'inventory.ini'), path.join(src, 'ops/ansible/site.yml'), '-e', `@${path.join(workDir, varsFile)}`], {
    cwd: path.join(src, 'ops/ansible'),
    timeoutMs: 6 * 60_000,
    env: {
      ...process.env,
      ANSIBLE_CONFIG: path.join(src, 'ops/ansible/ansible.cfg'),
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      PYTHONUNBUFFERED: '1',
    },
  });
  writeFileSync(path.join(workDir, logName), `${result.stdout}\n--- stderr ---\n${result.stderr}`);
  return result;
}

async function journal(): Promise<string> {
  const j = await inHost(['journalctl', '-u', 'pooldeck', '--no-pager', '-n', '40']);
  return j.stdout + j.stderr;
}

async function healthz(): Promise<{ status: number; body: string }> {
  const probe = [
    'import sys, urllib.request, urllib.error',
    'try:',
    `    r = urllib.request.urlopen("http://127.0.0.1:${HTTP_PORT}/healthz", timeout=10)`,
    '    body, code = r.read().decode(), r.status',
    'except urllib.error.HTTPError as e:',
    '    body, code = e.read().decode(), e.code',
    'except Exception as e:',
    '    body, code = str(e), 0',
    'print(body)',
    'print(code)',
  ].join('\n');
  const r = await inHost(['python3', '-c', probe], 20_000);
  const lines = r.stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n') };
}

const skipReason = missingPrerequisite();

if (skipReason) {
  if (REQUIRED) {
    test(`deploy: cannot run: ${skipReason}`, (t) => t.fail(skipReason));
  } else {
    console.log(`[deploy.test] skipped: ${skipReason}`);
    test.skip(`deploy: skipped: ${skipReason}`, () => {});
  }
} else {
  test.before(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'deploytest_'));
  });

  test.after.always(async (t) => {
    if (KEEP) {
      t.log(`kept: container ${HOST}, ${DATA_DIR}, ${workDir}`);
      return;
    }
    await removeEverything({ image: true });
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  test.serial('deploy: a throwaway Debian host with systemd as PID 1', async (t) => {
    t.timeout(5 * 60_000);
    await removeEverything({ image: false }); // leftovers of an interrupted run

    // A fixed copy of the checkout: the source the playbook syncs from.
    const src = path.join(workDir, 'src');
    const excludes = ['/.git', '/data', '/.data*', '/.vagrant', '/test-results', '*.log', '/ops/ansible/credentials', '/ops/ansible/inventory.ini'];
    // node_modules must load (native sqlite3 included): a checkout caught in the middle of an
    // `npm install` by someone else is copied again a little later.
    let usable: Result | undefined;
    for (let attempt = 1; attempt <= 3; attempt++) {
      // --copy-unsafe-links: a worktree's node_modules may be a symlink to another checkout's.
      const copy = await run('rsync', ['-a', '--delete', '--copy-unsafe-links', ...excludes.map((e) => `--exclude=${e}`), `${ROOT}/`, `${src}/`], { timeoutMs: 120_000 });
      t.is(copy.code, 0, copy.stderr);
      usable = await run(process.execPath, ['-e', "require('sqlite3'); require('dockerode'); require.resolve('esbuild')"], { cwd: src });
      if (usable.code === 0) break;
      t.log(`snapshot ${attempt}: node_modules does not load yet (${usable.stderr.split('\n').find((l) => l.includes('Error')) ?? ''}); again in 20 s`);
      await new Promise((r) => setTimeout(r, 20_000));
    }
    t.is(usable?.code, 0, `the checkout's node_modules does not load (run npm ci):\n${tail(usable?.stderr ?? '', 15)}`);
    // The compiled server the unit runs, built from the snapshot's own sources.
    const compiled = await run(process.execPath, ['ops/scripts/build-server.mjs'], { cwd: src, timeoutMs: 120_000 });
    t.is(compiled.code, 0, `npm run build:server in the snapshot failed:\n${tail(compiled.stdout + compiled.stderr, 30)}`);
    t.log(`snapshot of the checkout: ${src}${existsSync(path.join(src, 'dist')) ? '' : ' (no dist/: the UI is not built, the API still is)'}`);

    const gid = statSync(DOCKER_SOCKET).gid;
    const build = await docker(['build', '-q', '-t', HOST_IMAGE, '--build-arg', `BASE=${BASE_IMAGE}`, '--build-arg', `DOCKER_GID=${gid}`, path.join(ROOT, 'test/ops/host')], 4 * 60_000);
    t.is(build.code, 0, `docker build of the throwaway host failed:\n${tail(build.stdout + build.stderr, 30)}`);

    mkdirSync(DATA_DIR, { recursive: true });
    HTTP_PORT = await freePort(5900, 5999);
    // --privileged needs every capability; sandboxes that withhold one (CAP_SYS_RESOURCE here)
    // refuse it, and SYS_ADMIN with the cgroup tree is all systemd needs.
    const started = await docker([
      'run', '-d', '--name', HOST,
      // The host's network: Pooldeck reaches its pool containers through the ports they
      // publish on the engine's host (its readiness probe), as on a real machine.
      '--network', 'host',
      '--label', 'pooldeck.deploytest=host',
      '--cap-add', 'SYS_ADMIN',
      '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
      '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs', '/run', '--tmpfs', '/run/lock',
      '-v', `${DOCKER_SOCKET}:/run/docker.sock`,
      '-v', `${DATA_DIR}:${DATA_DIR}`,
      HOST_IMAGE,
    ]);
    t.is(started.code, 0, started.stderr);
    // Right after `docker run` systemd has no bus yet: ask again until it answers.
    let booted = await inHost(['systemctl', 'is-system-running', '--wait'], 120_000);
    for (let i = 0; i < 60 && !/^(running|degraded)$/.test(booted.stdout.trim()); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      booted = await inHost(['systemctl', 'is-system-running', '--wait'], 120_000);
    }
    t.regex(booted.stdout.trim(), /^(running|degraded)$/, `systemd did not come up: ${booted.stdout}${booted.stderr}`);
    if (booted.stdout.trim() === 'degraded') {
      const failed = await inHost(['systemctl', '--failed', '--no-legend', '--plain']);
      t.log(`systemd is degraded (a container lacks some hardware): ${failed.stdout.trim()}`);
    }

    const inventory = `[pooldeck]\n${HOST} ansible_connection=community.docker.docker ansible_user=root ansible_python_interpreter=/usr/bin/python3\n`;
    writeFileSync(path.join(workDir, 'inventory.ini'), inventory);
    const vars = {
      pooldeck_src: src,
      pooldeck_app_mode: 'prebuilt',
      pooldeck_node_binary_src: process.execPath,
      pooldeck_docker_install: false,
      pooldeck_build_images: false,
      pooldeck_data_dir: DATA_DIR,
      pooldeck_port: HTTP_PORT,
      pooldeck_http_host: '127.0.0.1',
      pooldeck_bind: '127.0.0.1',
      pooldeck_pool: 'nginx=1',
      pooldeck_pool_name: POOL_NAME,
      pooldeck_health_interval: 30,
      pooldeck_admin_password: ADMIN_PASSWORD,
      pooldeck_healthz_timeout: 180,
      pooldeck_extra_env: { POOLDECK_PORTS_NGINX: NGINX_PORTS },
      // The throwaway host shares the machine's network namespace and has no CAP_NET_ADMIN:
      // its iptables cannot (and must not) change the machine's rules.
      pooldeck_host_firewall: false,
    };
    writeFileSync(path.join(workDir, 'vars.json'), JSON.stringify(vars, null, 2));
    // The same host as a normal one whose node is already >= 20: nothing to copy or install.
    const present = { ...vars, pooldeck_node_binary_src: '', pooldeck_node_bin: '/usr/local/bin/node', pooldeck_node_skip_if_present: true };
    writeFileSync(path.join(workDir, 'vars-node-present.json'), JSON.stringify(present, null, 2));
    hostUp = true;
  });

  test.serial('deploy: the first ansible-playbook run deploys Pooldeck', async (t) => {
    if (!hostUp) return t.fail('the throwaway host is not up');
    t.timeout(7 * 60_000);
    const result = await playbook('run1.log');
    const numbers = recap(result.stdout);
    if (result.code !== 0 || !numbers || numbers.failed !== 0) {
      t.log(tail(result.stdout, 60));
      t.log(result.stderr.slice(-3000));
      t.log(await journal());
    }
    t.false(result.timedOut, 'ansible-playbook ran past 6 minutes');
    t.is(result.code, 0, `ansible-playbook failed (log: ${path.join(workDir, 'run1.log')})`);
    t.truthy(numbers, 'no PLAY RECAP line');
    t.is(numbers?.failed, 0);
    t.is(numbers?.unreachable, 0);
    t.true((numbers?.changed ?? 0) > 0, 'a first run on a fresh host changes things');
    deployed = result.code === 0;
  });

  test.serial('deploy: pooldeck.service is active as user pooldeck and /healthz answers 200', async (t) => {
    if (!deployed) return t.fail('the first playbook run failed');
    t.timeout(2 * 60_000);
    const active = await inHost(['systemctl', 'is-active', 'pooldeck']);
    t.is(active.stdout.trim(), 'active', await journal());
    const enabled = await inHost(['systemctl', 'is-enabled', 'pooldeck']);
    t.is(enabled.stdout.trim(), 'enabled');

    const health = await healthz();
    t.is(health.status, 200, health.body);
    t.like(JSON.parse(health.body || '{}'), { ok: true });

    const pid = (await inHost(['systemctl', 'show', '-p', 'MainPID', '--value', 'pooldeck'])).stdout.trim();
    const owner = await inHost(['stat', '-c', '%U', `/proc/${pid}`]);
    t.is(owner.stdout.trim(), 'pooldeck', 'the service runs as user pooldeck');
    const environ = await inHost(['cat', `/proc/${pid}/environ`]);
    const env = Object.fromEntries(environ.stdout.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    t.is(env.POOLDECK_ADMIN_PASSWORD, ADMIN_PASSWORD, 'the env file carries the password unchanged');
    t.is(env.POOLDECK_POOL_NAME, POOL_NAME);
    t.is(env.POOLDECK_DATA, DATA_DIR);

    // The unit as installed (with the drop-in for /usr/local/bin/node) passes systemd's checks.
    const verify = await inHost(['systemd-analyze', 'verify', 'pooldeck.service']);
    t.is(verify.code, 0, verify.stderr);
    t.is(verify.stderr.trim(), '', 'systemd-analyze verify prints no warnings');
  });

  test.serial("deploy: the pool's container runs on the engine and serves its page", async (t) => {
    if (!deployed) return t.fail('the first playbook run failed');
    t.timeout(2 * 60_000);
    const ps = await docker(['ps', '--filter', `label=pooldeck.pool=${POOL_NAME}`, '--format', '{{.Names}} {{.Ports}}']);
    const lines = ps.stdout.split('\n').filter(Boolean);
    t.is(lines.length, 1, `one running nginx container expected:\n${ps.stdout}`);
    const port = /127\.0\.0\.1:(\d+)->/.exec(lines[0] ?? '')?.[1];
    t.truthy(port, lines[0]);
    // Its files come from the bind-mounted slot directory under the data directory.
    let body = '';
    for (let i = 0; i < 40 && !body.includes('Pooldeck nginx'); i++) {
      try {
        body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      } catch {
        body = '';
      }
      if (!body.includes('Pooldeck nginx')) await new Promise((r) => setTimeout(r, 500));
    }
    t.regex(body, /Pooldeck nginx/, 'the welcome page written by Pooldeck is served');
  });

  test.serial('deploy: a second run changes nothing (changed=0)', async (t) => {
    if (!deployed) return t.fail('the first playbook run failed');
    t.timeout(7 * 60_000);
    const result = await playbook('run2.log');
    const numbers = recap(result.stdout);
    if (result.code !== 0) t.log(tail(result.stdout, 60));
    t.is(result.code, 0, `ansible-playbook failed (log: ${path.join(workDir, 'run2.log')})`);
    t.is(numbers?.failed, 0);
    t.is(numbers?.changed, 0, `changed: ${changedTasks(result.stdout).join('; ')}`);
    const health = await healthz();
    t.is(health.status, 200, health.body);
  });

  test.serial('deploy: a node >= 20 already there is kept (no NodeSource), still changed=0', async (t) => {
    if (!deployed) return t.fail('the first playbook run failed');
    t.timeout(7 * 60_000);
    const result = await playbook('run3.log', 'vars-node-present.json');
    if (result.code !== 0) t.log(tail(result.stdout, 60));
    t.is(result.code, 0, `ansible-playbook failed (log: ${path.join(workDir, 'run3.log')})`);
    t.regex(result.stdout, /TASK \[pooldeck : Add NodeSource's repository\][^\n]*\n(?:[^\n]*\n)?skipping:/, 'NodeSource is skipped');
    t.is(recap(result.stdout)?.changed, 0, `changed: ${changedTasks(result.stdout).join('; ')}`);
  });
}
