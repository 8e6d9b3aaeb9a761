import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = { group: ['node:*'], message: 'This layer runs without Node: keep node:* in src-main or src-crm.' };
const electron = { name: 'electron', message: 'Only src-main/app imports electron.' };

const noCrm = { group: ['**/src-crm/**'], message: 'The console knows the reference CRM only through its connection profile.' };
const CAPABILITIES = ['audit', 'cache', 'catalog', 'codeaudit', 'connections', 'crm', 'data', 'demo', 'isolation', 'migrate', 'pgdb', 'session', 'sync'];
const DOORS = ['app', 'cli', 'host'];

function mainFloors() {
  const rule = (files, patterns, withElectron = true) => ({
    files,
    rules: { 'no-restricted-imports': ['error', { paths: withElectron ? [electron] : [], patterns: [noCrm, ...patterns] }] },
  });
  return [
    rule(['src-main/core/**'], [{ regex: '^\\.\\./(?!\\.\\./src-shared/)', message: 'core/ is the ground floor: it imports only core/ and src-shared.' }]),
    rule(
      CAPABILITIES.map((c) => `src-main/${c}/**`),
      [{ regex: `^\\.\\./(compose|${DOORS.join('|')})/`, message: 'A capability does not import compose/ or a door: they import it.' }],
    ),
    rule(['src-main/compose/**'], [{ regex: `^(\\.\\./)+(${DOORS.join('|')})/`, message: 'compose/ is under the doors: they import it.' }]),
    rule(
      DOORS.filter((d) => d !== 'app').map((d) => `src-main/${d}/**`),
      [{ regex: `^\\.\\./(${CAPABILITIES.join('|')})/`, message: 'A door is thin: it calls a capability through compose (dispatch), never directly.' }],
    ),
    rule(
      ['src-main/app/**'],
      [{ regex: `^\\.\\./(${CAPABILITIES.join('|')})/`, message: 'A door is thin: it calls a capability through compose (dispatch), never directly.' }],
      false,
    ),
  ];
}

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
  // type-aware rules where the code leans on them: a promise is awaited or marked `void` on
  // purpose, a promise is not passed where a plain callback is expected, a switch over a union
  // names every case
  {
    files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-crm/**/*.ts', 'src-renderer/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { project: ['./tsconfig.node.json', './tsconfig.web.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  // runtime boundaries (see ARCHITECTURE.md)
  {
    files: ['src-shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electron, { name: 'react', message: 'src-shared is UI-free.' }],
          patterns: [nodeBuiltins, { group: ['**/src-main/**', '**/src-crm/**', '**/src-renderer/**'], message: 'src-shared depends on nothing of the app.' }],
        },
      ],
    },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electron],
          patterns: [
            nodeBuiltins,
            { group: ['**/src-main/**', '**/src-crm/**'], message: 'The renderer talks to the main process through the contract only.' },
          ],
        },
      ],
    },
  },
  // the floors of src-main (ARCHITECTURE.md): core at the bottom, the capabilities on it, compose
  // over them, the doors (cli, host, app) on top; no import runs back up, and a door reaches a
  // capability only through compose's dispatch
  ...mainFloors(),
  {
    files: ['src-crm/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electron],
          patterns: [
            {
              group: ['**/src-main/**', '**/src-shared/**', '**/src-renderer/**'],
              message: 'The reference CRM is a separate program: it imports nothing from the console.',
            },
          ],
        },
      ],
    },
  },
);
