// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** core/ is the pure domain: no I/O SDKs, no ambient environment, no ambient clock. */
const coreRestrictedImports = {
  patterns: [
    { group: ['@aws-sdk/*', 'aws-sdk', 'aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'core/ must not import the AWS SDK or CDK: add a port.' },
    { group: ['botbuilder', 'botbuilder-*', 'botframework-*', '@azure/*', '@microsoft/*'], message: 'core/ must not import Teams or Azure packages: add a port.' },
    { group: ['express', 'express/*', 'node:*', 'fs', 'path', 'http', 'https', 'child_process', 'os'], message: 'core/ must not do I/O.' },
    { group: ['../contract/*', '../../contract/*', '../runtime/*', '../../runtime/*', '../bot/*', '../cards/*', '../lambdas/*', '../infra/*', '../sandbox/*', '../../bot/*', '../../cards/*', '../../lambdas/*', '../../infra/*', '../../sandbox/*'], message: 'core/ imports nothing outside core.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'cdk.out/**', 'dist/**', 'coverage/**', '.sandbox-data/**', 'test-artifacts/**', 'devTools/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', setImmediate: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // CommonJS by necessity (mocha loads reporters with require).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', coreRestrictedImports],
      'no-restricted-globals': ['error', { name: 'process', message: 'core/ must not read the environment: config is parsed at the edge.' }, { name: 'setTimeout', message: 'core/ uses the Clock port.' }, { name: 'fetch', message: 'core/ does no I/O.' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core/ uses the Clock port, not Date.now().' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core/ uses the Clock port, not new Date().' },
        { selector: "MemberExpression[object.name='process']", message: 'core/ must not read process.* (config is parsed at the edge).' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'core/ is deterministic: inject an IdGenerator.' },
      ],
    },
  },
);
