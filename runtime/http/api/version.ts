/** Pooldeck's version: from the nearest package.json above this module (sources or a build). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageVersion(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pooldeck' && pkg.version) return pkg.version;
    } catch {
      /* none here */
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}
