/**
 * The deployment files pass their own tools: ansible-playbook --syntax-check, ansible-lint,
 * systemd-analyze verify and vagrant validate (Debian packages, installed by
 * ops/scripts/ensure-test-tools.sh).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function check(cmd: string, args: string[], cwd = '.') {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, timeout: 180_000, env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('When the playbook is syntax-checked, then ansible accepts it', async (t) => {
  const r = await check('ansible-playbook', ['--syntax-check', '-i', 'inventory.example.ini', 'site.yml'], 'ops/ansible');
  t.is(r.code, 0, r.out);
});

test('When ansible-lint reads the playbook, then it reports nothing', async (t) => {
  const r = await check('ansible-lint', [], 'ops/ansible');
  t.is(r.code, 0, r.out);
});

test('When systemd-analyze verifies the unit, then it prints no warning', async (t) => {
  const r = await check('systemd-analyze', ['verify', 'ops/systemd/pooldeck.service']);
  t.is(r.code, 0, r.out);
  t.is(r.out.trim(), '', r.out);
});

test('When vagrant validates the Vagrantfile, then it is valid', async (t) => {
  const r = await check('vagrant', ['validate']);
  t.is(r.code, 0, r.out);
  t.regex(r.out, /validated successfully/i);
});
