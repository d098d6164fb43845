#!/usr/bin/env node
// `pooldeck` launcher: runs the compiled CLI (build/cli.js, made by `npm run build`) with plain node.
import { existsSync } from 'node:fs';

const cli = new URL('../build/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('pooldeck: the CLI is not built; run "npm run build" (or "npm run build:server") in the Pooldeck checkout\n');
  process.exit(2);
}
await import(cli.href);
