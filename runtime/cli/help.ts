/**
 * The top-level help and the summaries it lists. Kept apart from the commands so that
 * `pooldeck --help` prints without loading them (runtime/cli/bin.ts); the commands take their
 * summaries from here.
 */
export const GROUPS = ['users', 'registration', 'pool', 'containers', 'monitor'];

export const GROUP_SUMMARY: Record<string, string> = {
  users: 'list and delete accounts',
  registration: 'who may register: show, set open|invite|closed, invite codes',
  pool: 'pool status, init, add, resize, reinit',
  containers: 'assigned containers: list, release, delete',
  monitor: 'health monitor: run, log, pause, resume, interval',
};

/** Summaries of the one-word commands (`pooldeck login`, `pooldeck audit`), in help order. */
export const TOP_LEVEL_SUMMARY = {
  login: 'Log in and print an "export POOLDECK_TOKEN=…" line for a new API token',
  audit: 'Show the audit log: logins, launches, uploads, admin actions, recoveries',
  completion: 'Print a bash or zsh completion script: source <(pooldeck completion bash)',
} as const;

export function topHelp(): string {
  return [
    'Usage: pooldeck <command> [options]',
    '',
    'Administer a running Pooldeck server through its HTTP API.',
    '',
    'Commands:',
    ...Object.entries(TOP_LEVEL_SUMMARY).map(([name, summary]) => `  ${name.padEnd(20)}  ${summary}`),
    ...GROUPS.map((g) => `  ${g.padEnd(20)}  ${GROUP_SUMMARY[g]}`),
    '',
    'Global options:',
    '  --url URL      server address (default $POOLDECK_URL or http://127.0.0.1:5000)',
    '  --token TOKEN  API token of an admin (default $POOLDECK_TOKEN)',
    '  --json         machine-readable JSON on stdout',
    '  -h, --help     help for any command, e.g. "pooldeck pool resize --help"',
    '',
    'Exit codes: 0 ok, 1 the server refused or failed, 2 bad usage, 3 server unreachable,',
    '4 authentication failed (no token, 401) or not allowed (403).',
  ].join('\n') + '\n';
}

/** `pooldeck --help`, `pooldeck -h`, `pooldeck help`: the top-level help and nothing else to do. */
export const isTopHelp = (argv: string[]) => argv.length === 1 && ['--help', '-h', 'help'].includes(argv[0]!);
