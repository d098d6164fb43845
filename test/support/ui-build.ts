/**
 * The built dashboard for browser tests: `dist/` is rebuilt (`npm run build:ui`) when it is missing
 * or older than the sources in `ui/` and `shared/`. Shared by every e2e test that serves the UI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
export const dist = path.join(root, 'dist');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Build the UI unless dist/index.html is at least as new as every file under ui/ and shared/. */
export function ensureUiBuilt(): void {
  const index = path.join(dist, 'index.html');
  const sources = Math.max(newestMtime(path.join(root, 'ui')), newestMtime(path.join(root, 'shared')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync('npm', ['run', '--silent', 'build:ui'], { cwd: root, stdio: 'inherit', timeout: 180_000 });
}
