// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureLibs = [
  'libs/rules/src/**/*.ts',
  'libs/context-model/src/**/*.ts',
  'libs/slo/src/**/*.ts',
  'libs/campaigns-model/src/**/*.ts',
  'libs/analytics-model/src/**/*.ts',
  'libs/access/src/**/*.ts',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.nunchi/**',
      'node_modules/**',
      'scripts/**',
      'bin/**',
      'eslint.config.mjs',
      'apps/console/vite.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  {
    // Pure domain libs: data in, decision out. No framework, driver, environment or clock.
    files: pureLibs,
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@nestjs/*',
                'cassandra-driver',
                '@nats-io/*',
                '@opentelemetry/*',
                'node:*',
                'fs',
                'process',
              ],
              message: 'Pure libs import no framework, driver or I/O.',
            },
            {
              group: [
                '@nunchi/messaging',
                '@nunchi/cassandra',
                '@nunchi/telemetry',
                '@nunchi/telemetry/*',
                '@nunchi/config',
              ],
              message: 'Pure libs depend only on contracts and other pure libs.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pass the clock in as a parameter.' },
        { object: 'process', property: 'env', message: 'Pure libs read no environment.' },
        { object: 'Math', property: 'random', message: 'Pass randomness in as a parameter.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Pass the clock in as a parameter.',
        },
      ],
    },
  },
);
