/** `pooldeck completion bash|zsh`: the shell completion script, made from the command table itself. */
import { usageLine, type Command } from '../command.ts';
import { completionScript, SHELLS, type Shell } from '../completion.ts';
import { usageError } from '../errors.ts';
import { TOP_LEVEL_SUMMARY } from '../help.ts';

/** `table` is every command of the CLI, this one included (main.ts `COMMANDS`). */
export function completionCommand(table: () => Command[]): Command {
  return {
    group: '',
    name: 'completion',
    args: '<bash|zsh>',
    choices: [...SHELLS],
    summary: TOP_LEVEL_SUMMARY.completion,
    description: [
      'Prints a script that makes <TAB> complete pooldeck\'s commands, subcommands and options.',
      'It needs no server and no token. Load it in the current shell, or from ~/.bashrc or ~/.zshrc',
      '(zsh: after compinit); or save it where bash-completion looks for completions.',
    ].join('\n'),
    positionals: [1, 1],
    needsToken: false,
    examples: [
      'source <(pooldeck completion bash)',
      'pooldeck completion bash > ~/.local/share/bash-completion/completions/pooldeck',
      'echo \'source <(pooldeck completion zsh)\' >> ~/.zshrc',
    ],
    async run(ctx) {
      const shell = ctx.arg(0);
      if (!(SHELLS as readonly string[]).includes(shell)) throw usageError(`no completion for "${shell}"; choose bash or zsh`, usageLine(ctx.command));
      ctx.io.stdout.write(completionScript(shell as Shell, table()));
    },
  };
}
