/**
 * `pooldeck`: the admin command line. Finds the subcommand, parses its arguments strictly,
 * runs it against the server's HTTP API and turns every failure into one sentence on stderr
 * and an exit code (see errors.ts and docs/cli.md).
 */
import { parseArgs } from 'node:util';
import { ApiClient, DEFAULT_URL } from './client.ts';
import { commandHelp, GLOBAL_OPTIONS, groupHelp, usageLine, type Command, type Context, type Io, type OptionDef } from './command.ts';
import { auditCommand } from './commands/audit.ts';
import { completionCommand } from './commands/completion.ts';
import { containersCommands } from './commands/containers.ts';
import { loginCommand } from './commands/login.ts';
import { monitorCommands } from './commands/monitor.ts';
import { poolCommands } from './commands/pool.ts';
import { registrationCommands } from './commands/registration.ts';
import { usersCommands } from './commands/users.ts';
import { CliError, EXIT, usageError } from './errors.ts';
import { GROUPS, topHelp } from './help.ts';
import { escapeControls } from './output.ts';

export const COMMANDS: Command[] = [
  loginCommand, auditCommand, completionCommand(() => COMMANDS),
  ...usersCommands, ...registrationCommands, ...poolCommands, ...containersCommands, ...monitorCommands,
];
/** Commands of one word (`pooldeck login`, `pooldeck audit`). */
const TOP_LEVEL = COMMANDS.filter((c) => c.group === '');

export { topHelp };

/** Every option any command knows, so that the first pass can skip option values. */
function allOptions(): Record<string, OptionDef> {
  return Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {}));
}

function toParseOptions(options: Record<string, OptionDef>) {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
}

/** node:util's parse errors, rephrased as short sentences. */
function parseProblem(error: Error): string {
  const message = error.message;
  const option = /--[\w-]+/.exec(message)?.[0] ?? /'(-[^' ,]+)/.exec(message)?.[1];
  const code = (error as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option ?? ''}`.trim();
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /argument missing/.test(message) ? `${option} needs a value` : `${option} does not take a value`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument in ${message}`;
  return message.split('. ')[0] ?? message;
}

type Found = { kind: 'help'; text: string } | { kind: 'command'; command: Command; words: number };

/** Which command the words name (or which help to print). Throws usage errors. */
function findCommand(positionals: string[], help: boolean): Found {
  let [first, second] = positionals;
  if (first === 'help') {
    // `pooldeck help`, `pooldeck help pool`, `pooldeck help pool resize`
    help = true;
    [first, second] = positionals.slice(1);
    if (!first) return { kind: 'help', text: topHelp() };
  }
  if (!first) {
    if (help) return { kind: 'help', text: topHelp() };
    throw usageError('missing command', topHelp());
  }
  const single = TOP_LEVEL.find((c) => c.name === first);
  if (single) {
    if (help) return { kind: 'help', text: commandHelp(single) };
    return { kind: 'command', command: single, words: 1 };
  }
  if (!GROUPS.includes(first)) throw usageError(`unknown command "${first}"`, topHelp());
  const group = COMMANDS.filter((c) => c.group === first);
  if (!second) {
    if (help) return { kind: 'help', text: groupHelp(first, group) };
    throw usageError(`"pooldeck ${first}" needs a command`, groupHelp(first, group));
  }
  const command = group.find((c) => c.name === second);
  if (!command) throw usageError(`unknown command "${first} ${second}"`, groupHelp(first, group));
  if (help) return { kind: 'help', text: commandHelp(command) };
  return { kind: 'command', command, words: 2 };
}

export async function run(argv: string[], io: Io): Promise<number> {
  try {
    const loose = parseArgs({ args: argv, options: toParseOptions(allOptions()), strict: false, allowPositionals: true });
    const found = findCommand(loose.positionals.map(String), loose.values.help === true);
    if (found.kind === 'help') {
      io.stdout.write(found.text);
      return EXIT.ok;
    }
    const { command } = found;
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: toParseOptions({ ...GLOBAL_OPTIONS, ...command.options }), strict: true, allowPositionals: true });
    } catch (error) {
      throw usageError(parseProblem(error as Error), usageLine(command));
    }
    const values = parsed.values as Context['values'];
    const positionals = parsed.positionals.slice(found.words);
    const [min, max] = command.positionals ?? [0, 0];
    if (positionals.length < min) throw usageError(`missing ${command.args ?? 'arguments'}`, usageLine(command));
    if (positionals.length > max) throw usageError(`too many arguments: ${positionals.slice(max).join(' ')}`, usageLine(command));

    const url = (values.url as string | undefined) ?? (io.env.POOLDECK_URL || DEFAULT_URL);
    const token = (values.token as string | undefined) ?? (io.env.POOLDECK_TOKEN || undefined);
    let api: ApiClient;
    try {
      api = new ApiClient(url, token);
    } catch (error) {
      throw error instanceof CliError ? usageError(`${values.url === undefined ? 'POOLDECK_URL: ' : '--url: '}${error.message}`, usageLine(command)) : error;
    }
    const ctx: Context = {
      api,
      values,
      positionals,
      arg: (index) => {
        const value = positionals[index];
        if (value === undefined) throw usageError(`missing ${command.args ?? 'arguments'}`, usageLine(command));
        return value;
      },
      json: values.json === true,
      io,
      command,
      // Text from the server (names, emails, notes) never reaches the terminal as control codes.
      print: (line = '') => io.stdout.write(escapeControls(line) + '\n'),
      printJson: (value, compact = false) => io.stdout.write(JSON.stringify(value, null, compact ? undefined : 2) + '\n'),
    };
    await command.run(ctx);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`pooldeck: ${escapeControls(error.message)}\n`);
      if (error.usage) io.stderr.write(error.usage.includes('\n') ? `\n${error.usage}` : `Usage: ${error.usage}\n`);
      return error.code;
    }
    const e = error as Error;
    io.stderr.write(`pooldeck: unexpected failure: ${e?.message ?? String(error)}\n`);
    if (io.env.POOLDECK_DEBUG) io.stderr.write(`${e?.stack ?? ''}\n`);
    return EXIT.failed;
  }
}

/** Run with the real process: argv, streams, environment, signals. */
export async function cli(argv = process.argv.slice(2)): Promise<void> {
  // `pooldeck … | head` closes the pipe early; that is not an error worth a trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  let interrupted: Promise<void> | null = null;
  const io: Io = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    untilInterrupted: () =>
      (interrupted ??= new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      })),
  };
  process.exitCode = await run(argv, io);
}
