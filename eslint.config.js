// Lint rules, including the layering of DESIGN.md §2 and STYLE.md rule 9:
// src/domain is pure (no I/O, no client-node, no other layer); no import cycles anywhere.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { defineConfig } from 'eslint/config';

const ioModules = [
  'node:fs', 'node:fs/promises', 'fs', 'fs/promises', 'node:child_process', 'child_process',
  'node:net', 'net', 'node:http', 'http', 'node:https', 'https', 'node:os', 'os',
  'node:crypto', 'crypto', 'node:process', 'process',
];

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver()] },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.map((name) => ({ name, message: 'src/domain is pure: no I/O (DESIGN.md §2).' })),
        patterns: [
          { group: ['**/effects/**', '**/adapters/**', '**/cli/**'], message: 'src/domain may not import other layers.' },
          { group: ['@kubernetes/client-node', '@kubernetes/client-node/**'], message: 'src/domain may not use client-node.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'src/domain is pure: no process access.' },
        { name: 'setTimeout', message: 'src/domain is pure: clocks come in as data.' },
        { name: 'fetch', message: 'src/domain is pure: no network.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'src/domain is pure: seeds come in as data.' },
        { object: 'Date', property: 'now', message: 'src/domain is pure: clocks come in as data.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: 'ThrowStatement', message: 'src/domain returns errors as values (STYLE.md rule 3).' },
        { selector: "NewExpression[callee.name='Date']", message: 'src/domain is pure: clocks come in as data.' },
      ],
    },
  },
  {
    files: ['src/effects/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/adapters/**'], message: 'effects talk to adapters only through ports.' }],
      }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
