/**
 * Shell completion for `pooldeck`, generated from the same command table that parses the
 * arguments and prints the help (main.ts `COMMANDS`, help.ts `GROUPS`, command.ts
 * `GLOBAL_OPTIONS`), so a new command, subcommand or option completes without anyone touching
 * this file. What completes: command words, subcommands of a group, `--options` of the command
 * (the global ones too), and fixed argument words (`Command.choices`). Values of options and
 * free arguments (names, sizes) are left to the person typing.
 *
 * zsh runs the bash function through its `bashcompinit` layer.
 */
import { GLOBAL_OPTIONS, type Command, type OptionDef } from './command.ts';
import { GROUPS } from './help.ts';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** Every word written into the script is one of these: nothing in it is ever shell syntax. */
const SAFE_WORD = /^-{0,2}[a-z0-9][a-z0-9-]*$/;

function words(list: string[]): string {
  for (const word of list) if (!SAFE_WORD.test(word)) throw new Error(`"${word}" cannot be written into a completion script`);
  return list.join(' ');
}

const flagsOf = (options: Record<string, OptionDef>) => Object.keys(options).map((name) => `--${name}`);

/** `help` first, then the one-word commands, then the groups: the order of `pooldeck --help`. */
function topWords(commands: Command[]): string[] {
  return ['help', ...commands.filter((c) => c.group === '').map((c) => c.name), ...GROUPS];
}

function bashFunction(commands: Command[], shell: Shell): string {
  // zsh runs the function in sh emulation (0-based arrays) but its `read` fills an array with -A.
  const readArray = shell === 'zsh' ? '-rA' : '-ra';
  const valueOptions = new Set<string>();
  for (const options of [GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})]) {
    for (const [name, o] of Object.entries(options)) if (o.type === 'string') valueOptions.add(`--${name}`);
  }
  for (const options of [GLOBAL_OPTIONS, ...commands.map((c) => c.options ?? {})]) {
    for (const o of Object.values(options)) if (o.type === 'string' && o.short) valueOptions.add(`-${o.short}`);
  }
  const takesValue = words([...valueOptions]).replaceAll(' ', '|');
  const single = commands.filter((c) => c.group === '');
  const wordCases = [
    `      ${words(single.map((c) => c.name)).replaceAll(' ', '|')}) cmd="\${typed[0]}"; rest=$((n - 1)) ;;`,
    ...GROUPS.map((g) => {
      const subs = words(commands.filter((c) => c.group === g).map((c) => c.name));
      return `      ${words([g])}) if ((n == 1)); then offer="${subs}"; else cmd="${g} \${typed[1]}"; rest=$((n - 2)); fi ;;`;
    }),
  ];
  const commandCases = commands.map((c) => {
    const key = [c.group, c.name].filter(Boolean).join(' ');
    words(key.split(' '));
    const [, max] = c.positionals ?? [0, 0];
    return `      "${key}") flags="${words([...flagsOf(c.options ?? {}), ...flagsOf(GLOBAL_OPTIONS)])}"; max=${max}; choices="${words(c.choices ?? [])}" ;;`;
  });
  // Words are split on blanks from COMP_LINE, not taken from COMP_WORDS: bash also splits
  // those at "=" and ":" (COMP_WORDBREAKS), which would turn a URL into several words.
  return `_pooldeck() {
  local line="\${COMP_LINE:0:$COMP_POINT}"
  local -a all=()
  read ${readArray} all <<< "$line"
  [[ -z "$line" || "$line" == *[[:space:]] ]] && all+=("")
  local last=$((\${#all[@]} - 1))
  local cur="\${all[last]}" prev=""
  ((last > 0)) && prev="\${all[last - 1]}"
  # The value of an option (--url X, --since=1h, a URL): nothing to offer.
  case "$prev" in ${takesValue}) COMPREPLY=(); return 0 ;; esac
  case "$cur" in *=*|*:*) COMPREPLY=(); return 0 ;; esac
  # The words typed before this one, without options and their values.
  local -a typed=()
  local i=1 w
  while ((i < last)); do
    w="\${all[i]}"
    case "$w" in
      ${takesValue}) ((i += 1)) ;;
      -*) ;;
      *) typed+=("$w") ;;
    esac
    ((i += 1))
  done
  local n=\${#typed[@]} help=0 offer="" cmd="" rest=0 flags="" max=0 choices=""
  # "pooldeck help …" completes the words after it like "pooldeck …", and nothing past a command.
  if ((n >= 1)) && [[ "\${typed[0]}" == help ]]; then help=1; typed=("\${typed[@]:1}"); n=$((n - 1)); fi
  if ((n == 0)); then
    if ((help)); then offer="${words(topWords(commands).slice(1))}"; else offer="${words(topWords(commands))}"; fi
  else
    case "\${typed[0]}" in
${wordCases.join('\n')}
    esac
  fi
  ((help)) && cmd=""
  if [[ -n "$cmd" ]]; then
    case "$cmd" in
${commandCases.join('\n')}
      *) flags="" ;;
    esac
    if [[ "$cur" == -* ]]; then offer="$flags"
    elif ((rest == 0)) && [[ -n "$choices" ]]; then offer="$choices"
    elif ((rest >= max)); then offer="$flags"
    fi
  elif [[ "$cur" == -* ]]; then
    offer="--help"
  fi
  COMPREPLY=($(compgen -W "$offer" -- "$cur"))
}
complete -F _pooldeck pooldeck`;
}

/** The script `pooldeck completion <shell>` prints; sourcing it makes <TAB> complete `pooldeck`. */
export function completionScript(shell: Shell, commands: Command[]): string {
  const header = [
    `# ${shell} completion for pooldeck, generated by "pooldeck completion ${shell}" from the CLI's own`,
    '# command table (regenerate after an upgrade). Load it from your shell\'s start-up file:',
    `#   source <(pooldeck completion ${shell})`,
  ];
  if (shell === 'zsh') {
    header.push('# zsh: after "compinit"; the bash function below runs under zsh\'s bashcompinit.');
    return [...header, 'autoload -U +X bashcompinit && bashcompinit', bashFunction(commands, shell), ''].join('\n');
  }
  return [...header, bashFunction(commands, shell), ''].join('\n');
}
