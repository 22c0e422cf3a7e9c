// One lint setup for the whole repository. Formatting is Prettier's job.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const services = ['publisher', 'indexer', 'router'];
const io = ['@nats-io/*', 'hono', 'hono/*', '@hono/*', 'prom-client', 'zeromq', 'pino'];
const pkg = (names) => names.map((n) => `@kvroute/${n}`);
const crossPackageRelative = {
  group: ['**/libs/*', '**/services/*', '**/loadtest/*'],
  message: 'import workspace packages by name (@kvroute/…), never by relative path',
};

/** Dependencies point one way: pure libs ← runtime ← services ← loadtest ← cli. */
const boundary = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: [crossPackageRelative, { group: forbidden, message: why }] },
    ],
  },
});

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts', 'loadtest/results/**', '.turbo/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: ['./tsconfig.check.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } },
      ],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  boundary(
    ['libs/!(runtime)/**'],
    [...io, ...pkg(['runtime', ...services, 'sim', 'cli'])],
    'pure libraries do no I/O and never import the runtime, services, the load test or the CLI',
  ),
  boundary(
    ['libs/runtime/**'],
    pkg([...services, 'sim', 'cli']),
    'the runtime never imports services, the load test or the CLI',
  ),
  ...services.map((s) =>
    boundary(
      [`services/${s}/**`],
      pkg([...services.filter((o) => o !== s), 'sim', 'cli']),
      'services never import each other',
    ),
  ),
  boundary(['loadtest/**'], pkg(['cli']), 'the load test never imports the CLI'),
);
