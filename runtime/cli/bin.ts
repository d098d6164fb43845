/** The CLI's process entry: compiled to build/cli.js (run by bin/pooldeck.js); tests run it under tsx. */
import { cli } from './main.ts';

await cli();
