// Lint as part of `npm test`: the layering (src/core and src/app never import vscode; the glue never
// reaches the engine client or the registry's internals), promises never left floating, and no
// export that nothing imports.
import tseslint from 'typescript-eslint';
import noUnusedExports from './scripts/eslint/noUnusedExports.mjs';

const vscodeBanned = { name: 'vscode', message: 'src/core and src/app run without VS Code (the CLI, the service): take what you need as a parameter.' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, local: { rules: { 'no-unused-exports': noUnusedExports } } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-require-imports': 'error',
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/app/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [vscodeBanned] }],
    },
  },
  {
    files: ['src/vscode/**/*.ts', 'src/extension.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'dockerode', message: 'The glue asks core/app objects; only src/core talks to the engine client.' }],
          patterns: [
            {
              group: ['**/core/registry/sqljs', '**/core/registry/migrations', '**/core/registry/journal', '**/core/registry/fileStore'],
              message: "The registry's storage is the registry's own business: go through src/app/registry.",
            },
          ],
        },
      ],
    },
  },
  {
    // Entry points and tests are imported by nobody (activate/deactivate are VS Code's to call).
    files: ['src/**/*.ts', 'webview-ui/**/*.ts'],
    ignores: ['src/extension.ts', 'webview-ui/metrics/main.ts', 'src/cli/main.ts'],
    rules: { 'local/no-unused-exports': 'error' },
  },
);
