#!/usr/bin/env node
// `pooldeck` launcher: lets Node load the TypeScript CLI through tsx, then runs it.
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../runtime/cli/main.ts');
await cli();
