/**
 * What a subcommand is (name, arguments, options, help) and what it gets to run: the parsed
 * arguments, an API client and the process's streams. Help texts are generated from here.
 */
import type { ApiClient } from './client.ts';
import { usageError } from './errors.ts';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help for string options, e.g. `N`. */
  value?: string;
  description: string;
}

export interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** From the first call on, Ctrl-C no longer kills the process but resolves this promise. */
  untilInterrupted(): Promise<void>;
}

export interface Context {
  api: ApiClient;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** The positional at `index`; a usage error when it is missing (the command's `positionals` range decides what is required). */
  arg(index: number): string;
  json: boolean;
  io: Io;
  command: Command;
  /** Print a line on stdout. */
  print(line?: string): void;
  /** Print a value as JSON on stdout (one document, pretty unless `compact`). */
  printJson(value: unknown, compact?: boolean): void;
}

export interface Command {
  group: string;
  name: string;
  /** Positional arguments as shown in usage, e.g. `<type> [count]`. */
  args?: string;
  summary: string;
  /** Further paragraphs for `--help`. */
  description?: string;
  examples?: string[];
  options?: Record<string, OptionDef>;
  /** The fixed words the first argument is one of (`open`, `invite`, `closed`): shell completion offers them. */
  choices?: string[];
  /** How many positionals are allowed: [min, max]. */
  positionals?: [number, number];
  /** False for commands that do not need a token (login). */
  needsToken?: boolean;
  run(ctx: Context): Promise<void>;
}

export const GLOBAL_OPTIONS: Record<string, OptionDef> = {
  url: { type: 'string', value: 'URL', description: 'server address (default $POOLDECK_URL or http://127.0.0.1:5000)' },
  token: { type: 'string', value: 'TOKEN', description: 'API token (default $POOLDECK_TOKEN)' },
  json: { type: 'boolean', description: 'machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export function usageLine(command: Command): string {
  const options = Object.entries(command.options ?? {})
    .map(([name, o]) => (o.type === 'string' ? `[--${name} ${o.value ?? 'VALUE'}]` : `[--${name}]`))
    .join(' ');
  return ['pooldeck', command.group, command.name, command.args, options].filter(Boolean).join(' ');
}

function optionRows(options: Record<string, OptionDef>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`);
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: ${usageLine(command)}`, '', command.summary];
  if (command.description) lines.push('', command.description);
  if (command.options && Object.keys(command.options).length) lines.push('', 'Options:', ...optionRows(command.options));
  lines.push('', 'Global options:', ...optionRows(GLOBAL_OPTIONS));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

export function groupHelp(group: string, commands: Command[]): string {
  const width = Math.max(...commands.map((c) => `${c.name} ${c.args ?? ''}`.length));
  return [
    `Usage: pooldeck ${group} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${`${c.name} ${c.args ?? ''}`.padEnd(width)}  ${c.summary}`),
    '',
    `Run "pooldeck ${group} <command> --help" for the options of a command.`,
  ].join('\n') + '\n';
}

// ---- argument helpers used by the commands ----

/** A whole number within [min, max], or a usage error naming `what`. */
export function wholeNumber(raw: string | undefined, what: string, min: number, max: number, command?: Command): number {
  const value = raw === undefined ? NaN : Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw usageError(`${what} must be a whole number from ${min} to ${max}, not "${raw ?? ''}"`, command && usageLine(command));
  }
  return value;
}

/** A container type name as the server spells them. */
export function typeName(raw: string, command?: Command): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(raw)) throw usageError(`"${raw}" is not a container type name (e.g. nginx)`, command && usageLine(command));
  return raw;
}

/** `nginx=5,apache=3` → { nginx: 5, apache: 3 }. */
export function parseSizes(raw: string, command?: Command): Record<string, number> {
  const sizes: Record<string, number> = {};
  const parts = raw.split(',').map((p) => p.trim()).filter(Boolean);
  if (!parts.length) throw usageError('--size needs at least one type=count, e.g. --size nginx=5,apache=3', command && usageLine(command));
  for (const part of parts) {
    const [, type, count] = /^([a-z0-9][a-z0-9-]*)=(\d+)$/.exec(part) ?? [];
    if (type === undefined) throw usageError(`--size: "${part}" is not of the form type=count (e.g. nginx=5)`, command && usageLine(command));
    if (type in sizes) throw usageError(`--size names ${type} twice`, command && usageLine(command));
    sizes[type] = wholeNumber(count, `the size of ${type}`, 0, 10_000, command);
  }
  return sizes;
}
