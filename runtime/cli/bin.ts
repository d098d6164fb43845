/**
 * The CLI's process entry: compiled to build/cli.js (run by bin/pooldeck.js); tests run it under
 * tsx. The top-level help prints without loading the commands; everything else loads them.
 */
import { isTopHelp, topHelp } from './help.ts';

const argv = process.argv.slice(2);
if (isTopHelp(argv)) process.stdout.write(topHelp());
else await (await import('./main.ts')).cli(argv);
