/**
 * `pooldeck completion bash|zsh` in real shells: the script the CLI prints is sourced in bash,
 * and the completion function is called as bash calls it on <TAB> (COMP_LINE, COMP_POINT,
 * COMP_WORDS, COMP_CWORD); in zsh, keys are typed into an interactive shell on a pseudo-terminal.
 * What it offers is checked against the CLI's command table, so the two cannot drift apart.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GLOBAL_OPTIONS } from '../../runtime/cli/command.ts';
import { GROUPS } from '../../runtime/cli/help.ts';
import { COMMANDS } from '../../runtime/cli/main.ts';

const run = promisify(execFile);
const BIN = path.resolve('runtime/cli/bin.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'pooldeck-completion-'));

test.after.always(() => rmSync(dir, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, ['--import=tsx', BIN, 'completion', shell], { env: { PATH: process.env.PATH ?? '', HOME: dir } });
  if (stderr) throw new Error(stderr);
  const file = path.join(dir, `pooldeck.${shell}`);
  writeFileSync(file, stdout);
  return file;
}

/** What bash offers for each command line (the cursor at its end), one array per line. */
async function bashOffers(lines: string[]): Promise<string[][]> {
  const file = await script('bash');
  const driver = [
    'set -u',
    `source ${JSON.stringify(file)}`,
    '[[ "$(complete -p pooldeck)" == "complete -F _pooldeck pooldeck" ]] || { echo "not registered" >&2; exit 3; }',
    // As bash does on <TAB>: COMP_WORDS split at its word breaks, the function called with (command, word, previous word).
    'offer() {',
    '  COMP_LINE="$1"; COMP_POINT=${#1}',
    '  local IFS=$\' \\t\\n\'',
    '  read -ra COMP_WORDS <<< "$1"',
    '  [[ "$1" == *" " ]] && COMP_WORDS+=("")',
    '  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    '  COMPREPLY=()',
    '  _pooldeck pooldeck "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]:-}"',
    '  echo "${COMPREPLY[*]:-}"',
    '}',
    ...lines.map((line) => `offer ${JSON.stringify(line)}`),
  ].join('\n');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', driver]);
  return stdout.split('\n').slice(0, lines.length).map((l) => l.split(' ').filter(Boolean));
}

const flagsOf = (command: (typeof COMMANDS)[number]) => [...Object.keys(command.options ?? {}), ...Object.keys(GLOBAL_OPTIONS)].map((n) => `--${n}`);

test('When pooldeck po<TAB> is pressed in bash, then it completes to pool; then pool\'s subcommands, a command\'s flags and fixed arguments follow', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['pooldeck po', ['pool']],
    ['pooldeck pool ', ['status', 'init', 'add', 'resize', 'reinit']],
    ['pooldeck pool re', ['resize', 'reinit']],
    ['pooldeck pool resize --w', ['--wait']],
    ['pooldeck audit --ac', ['--actor', '--action']],
    ['pooldeck registration set ', ['open', 'invite', 'closed']],
    ['pooldeck completion ', ['bash', 'zsh']],
    ['pooldeck help pool re', ['resize', 'reinit']],
    ['pooldeck c', ['completion', 'containers']],
    ['pooldeck -', ['--help']],
    // Options and their values are skipped, whether given as two words, with "=", or as URLs.
    ['pooldeck --url http://127.0.0.1:5000 mo', ['monitor']],
    ['pooldeck audit --since 1h --fa', ['--failed']],
    ['pooldeck audit --since=1h --fa', ['--failed']],
    ['pooldeck --token pd_x monitor int', ['interval']],
    // Where a free value is typed, nothing is offered.
    ['pooldeck pool resize ', []],
    ['pooldeck --url http://127.0.0.1:50', []],
    ['pooldeck audit --since ', []],
    ['pooldeck frob ', []],
    ['pooldeck help pool resize ', []],
  ];
  const offers = await bashOffers(cases.map(([line]) => line));
  cases.forEach(([line, expected], i) => t.deepEqual(offers[i], expected, line));
});

test('When every command of the table is completed in bash, then each group offers exactly its subcommands and each command exactly its options', async (t) => {
  const groupLines = GROUPS.map((g) => `pooldeck ${g} `);
  const commandLines = COMMANDS.map((c) => `pooldeck ${[c.group, c.name].filter(Boolean).join(' ')} --`);
  const offers = await bashOffers([...groupLines, ...commandLines, 'pooldeck ']);
  GROUPS.forEach((g, i) => t.deepEqual(offers[i], COMMANDS.filter((c) => c.group === g).map((c) => c.name), g));
  COMMANDS.forEach((c, i) => t.deepEqual(offers[GROUPS.length + i], flagsOf(c), `${c.group} ${c.name}`));
  t.deepEqual(offers.at(-1), ['help', ...COMMANDS.filter((c) => c.group === '').map((c) => c.name), ...GROUPS]);
});

test('When pooldeck po<TAB> and a flag are typed in an interactive zsh, then the line reads pool resize --wait', async (t) => {
  const file = await script('zsh');
  // An interactive zsh on a pseudo-terminal (zsh/zpty): keys typed, the command run, its arguments read back.
  const driver = `
zmodload zsh/zpty zsh/zselect
zpty z 'zsh -f -i'
zpty -w z 'autoload -U compinit; compinit -u -D; source ${file}; pooldeck() { print "GOT[$*]" }'
zpty -w -n z $'pooldeck po\\t'
zpty -w -n z $'resize --w\\t'
zpty -w z 'nginx 3'
local all="" chunk
integer deadline=$(( SECONDS + 20 ))
while (( SECONDS < deadline )); do
  if zpty -r -t z chunk; then all+=$chunk; else zselect -t 5; fi
  [[ $all == *'GOT[pool'*']'* ]] && break
done
zpty -d z
print -r -- "\${\${all##*GOT\\[}%%\\]*}"
`;
  const { stdout } = await run('zsh', ['-f', '-c', driver], { timeout: 30_000 });
  t.is(stdout.trim(), 'pool resize --wait nginx 3');
});
