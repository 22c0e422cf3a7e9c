import { fileURLToPath } from 'node:url';

/** Absolute paths of the deploy folder and the repository root. */
export const deployDir = fileURLToPath(new URL('../../', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
