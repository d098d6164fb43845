#!/usr/bin/env node
/**
 * `npm run build:server`: the server and the CLI compiled to JavaScript for plain `node`.
 *
 *   build/server.js             runtime/main.ts          (npm start, make run, the systemd unit)
 *   build/cli.js                runtime/cli/bin.ts       (bin/pooldeck.js)
 *   build/password-worker.js    the bcrypt worker thread (see WORKERS)
 *
 * Every entry is one self-contained file in the same folder (no shared chunks), so a module
 * that finds its worker with `new URL('./x.js', import.meta.url)` finds it next to the bundle.
 *
 * esbuild bundles our own modules (TypeScript stripped, no type check: `npm run typecheck`
 * does that) and leaves the packages in node_modules to Node, except dockerode and
 * docker-modem: they are bundled so that what they load at start but use only for features
 * Pooldeck never calls (ssh:// engines, BuildKit sessions, image builds from a folder: ssh2,
 * gRPC, protobufjs, tar-fs, about 25 MB of RSS) is loaded on first use instead (see LAZY). The output folder is build/,
 * never the UI's dist/ (served publicly and emptied by vite). `--outdir DIR` builds elsewhere
 * (the compiled-server test does).
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');

/** Worker-thread entry points, output name → source; each is found at `new URL('./<name>.js', import.meta.url)`. */
const WORKERS = { 'password-worker': 'runtime/accounts/password-worker.js' };

/** Packages that dockerode/docker-modem require at start but use only inside rarely called functions. */
const LAZY = new Set(['ssh2', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'tar-fs', '@balena/dockerignore', 'docker-modem/lib/ssh']);
const BUNDLED = /^(dockerode|docker-modem)(\/|$)/;
const insideBundled = (importer) => /[\\/]node_modules[\\/](dockerode|docker-modem)[\\/]/.test(importer);

/** A module whose export is required only when first touched (called, constructed or read). */
const lazyModule = (name) => `
let real;
const load = () => (real ??= require(${JSON.stringify(name)}));
module.exports = new Proxy(function () {}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  apply: (_, self, args) => load().apply(self, args),
  construct: (_, args) => new (load())(...args),
});
`;

/** Every package stays external (loaded by Node from node_modules) but dockerode and docker-modem. */
const packages = {
  name: 'pooldeck-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]|^\.\/ssh$/ }, (args) => {
      if (args.namespace === 'lazy') return { path: args.path, external: true };
      if (args.path === './ssh') return insideBundled(args.importer) ? { path: 'docker-modem/lib/ssh', namespace: 'lazy' } : undefined;
      if (args.path.startsWith('node:') || path.isAbsolute(args.path)) return undefined;
      if (insideBundled(args.importer) && LAZY.has(args.path)) return { path: args.path, namespace: 'lazy' };
      if (BUNDLED.test(args.path)) return undefined;
      return { path: args.path, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({ contents: lazyModule(args.path), loader: 'js' }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  plugins: [packages],
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled ESM has no `require`; a few packages' ESM entry points still call it.
  banner: { js: "import { createRequire as __pooldeckRequire } from 'node:module'; const require = __pooldeckRequire(import.meta.url);" },
};

/**
 * Build into `outdir` (default build/). `entries` adds more entry points (name → source), e.g.
 * the benchmark's server process, built exactly like the server.
 */
export async function buildServer({ outdir = path.join(root, 'build'), entries = {} } = {}) {
  const started = Date.now();
  rmSync(outdir, { recursive: true, force: true });
  await build({ ...common, entryPoints: { server: 'runtime/main.ts', cli: 'runtime/cli/bin.ts', ...WORKERS, ...entries }, outdir });
  writeFileSync(path.join(outdir, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n');
  return { outdir, ms: Date.now() - started };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const { outdir, ms } = await buildServer(at >= 0 && args[at + 1] ? { outdir: path.resolve(args[at + 1]) } : {});
  console.log(`build: ${path.relative(root, outdir) || '.'}/server.js, cli.js, ${Object.keys(WORKERS).map((w) => `${w}.js`).join(', ')} in ${ms} ms`);
}
