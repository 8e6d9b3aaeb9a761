import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = { group: ['node:*'], message: 'This layer runs without Node: keep node:* in src-main or src-crm.' };
const electron = { name: 'electron', message: 'Only src-main/app imports electron.' };

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // runtime boundaries (see ARCHITECTURE.md)
  {
    files: ['src-shared/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron, { name: 'react', message: 'src-shared is UI-free.' }], patterns: [nodeBuiltins, { group: ['**/src-main/**', '**/src-crm/**', '**/src-renderer/**'], message: 'src-shared depends on nothing of the app.' }] }] },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [nodeBuiltins, { group: ['**/src-main/**', '**/src-crm/**'], message: 'The renderer talks to the main process through the contract only.' }] }] },
  },
  {
    files: ['src-main/**'],
    ignores: ['src-main/app/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [{ group: ['**/src-crm/**'], message: 'The console knows the reference CRM only through its connection profile.' }] }] },
  },
  {
    files: ['src-crm/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [electron], patterns: [{ group: ['**/src-main/**', '**/src-shared/**', '**/src-renderer/**'], message: 'The reference CRM is a separate program: it imports nothing from the console.' }] }] },
  },
);
