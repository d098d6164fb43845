/** The dashboard build: `npm run build` → ../dist, served by the Pooldeck server (config.uiDir). */
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const target = process.env.POOLDECK_DEV_SERVER ?? 'http://127.0.0.1:5000';

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  // `npx vite --config ui/vite.config.ts` during development, next to `npm start`.
  server: {
    proxy: {
      '/api': target,
      '/socket.io': { target, ws: true },
    },
  },
});
