// @ts-check
/**
 * Lint for Vigil: typescript-eslint with type information for src/, test/ and bench/, plus the determinism
 * guards for workflow code. Workflow code runs in Temporal's sandbox and is replayed from history: I/O belongs in
 * activities, and timers and randomness come from @temporalio/workflow.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** Vigil's own sandbox code: the workflows, and the conversation's rules and contracts they are built on. */
const SANDBOX_FOLDERS = ['src/workflows/**/*.ts', 'src/conversation/**/*.ts'];

/**
 * Files bundled into a workflow sandbox. Keep in step with the bundles' `workflowsPath`s; for Vigil's own bundle,
 * test/workers/bundle-contents.test.ts fails if it takes in a file outside src/workflows and src/conversation.
 */
const WORKFLOW_FILES = [
  ...SANDBOX_FOLDERS,
  'test/**/workflows.ts',
  'test/**/workflows/**/*.ts',
  'bench/**/workflows.ts',
];

const NO_NODE_IN_WORKFLOWS =
  'Workflow code runs in a deterministic sandbox without Node built-ins: do the I/O in an activity ' +
  'and call it through proxyActivities.';

const NODE_PATHS = builtinModules.map((name) => ({ name, message: NO_NODE_IN_WORKFLOWS, allowTypeImports: true }));
const NODE_PATTERN = { group: ['node:*'], message: NO_NODE_IN_WORKFLOWS, allowTypeImports: true };

export default defineConfig(
  globalIgnores(['**/dist/', 'coverage/', 'scratch/', '.bench-out/']),

  {
    files: ['**/*.{js,cjs,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      // Config files and bin/vigil.js; they need nothing beyond Node's module globals.
      globals: {
        module: 'writable',
        require: 'readonly',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
      },
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // TypeScript already reports undefined names, with types; the base rule only knows ESLint's globals.
      'no-undef': 'off',
      // The type-aware rules that catch bugs. The no-unsafe-* family is left out: protobuf request objects are
      // loosely typed by design, and flagging every field read would bury the findings that matter.
      // A promise nobody awaits is a lost error, and in a worker a lost activity or signal.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },

  // `Date` is left alone: in the sandbox `Date.now()` and `new Date()` read workflow time, which replays.
  {
    files: WORKFLOW_FILES,
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: NODE_PATHS, patterns: [NODE_PATTERN] }],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message:
            'Use uuid4() from @temporalio/workflow for ids, or draw random values in an activity. The sandbox ' +
            'replays Math.random from a seed, but the same line moved out of a workflow would not be.',
        },
      ],
      'no-restricted-globals': [
        'error',
        {
          name: 'setTimeout',
          message: 'Use sleep() or condition(fn, timeout) from @temporalio/workflow: a durable, cancellable timer.',
        },
        {
          name: 'setInterval',
          message: 'Loop over sleep() from @temporalio/workflow instead: each wait is a durable timer in history.',
        },
      ],
    },
  },

  // The sandbox folders take code only from each other: whatever else they import is bundled into every
  // conversation, unguarded by the rules above. Types are free, they leave nothing in the bundle.
  {
    files: SANDBOX_FOLDERS,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: NODE_PATHS,
          patterns: [
            NODE_PATTERN,
            {
              group: ['../**', '!../workflows', '!../workflows/**', '!../conversation', '!../conversation/**'],
              message:
                'Code in src/workflows and src/conversation runs in the workflow sandbox: move what it needs into ' +
                'src/conversation (sandbox-safe, lint-guarded), or import only its types.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
