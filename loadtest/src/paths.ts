import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The loadtest package folder, from sources (src/…) or the build (dist/src/…). */
export function packageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the loadtest package folder');
    dir = up;
  }
  return dir;
}

/** The bundled Mooncake conversation trace. */
export const bundledTrace = (): string => join(packageDir(), 'traces', 'conversation_trace.jsonl');
