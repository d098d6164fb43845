// `make chaos`: the chaos tests only (package.json's "ava" keeps them out of `npm test`).
// With an explicit --config, AVA ignores package.json's "ava" key, so the shared settings are read from it here.
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).ava;

export default {
  ...base,
  files: ['test/chaos/**/*.test.ts'],
  timeout: '10m',
};
