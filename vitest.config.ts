import { defineConfig } from 'vitest/config';

// One config for every package; each package's `test` script runs vitest from
// its own folder with this file. Workspace imports resolve to TypeScript
// sources through the `@kvroute/source` export condition, so tests never wait
// for a build. Vitest exits non-zero when a package has no test files.
export default defineConfig({
  resolve: { conditions: ['@kvroute/source'] },
  ssr: { resolve: { conditions: ['@kvroute/source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['dot'] : ['default'],
  },
});
