/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is done once by `npm run typecheck`; here we only strip types, which keeps jest fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // The workspace packages' sources, as tsconfig.json's `paths` map them for tsc and tsx.
  moduleNameMapper: {
    '^@vigil/temporal-test-server$': '<rootDir>/packages/temporal-test-server/src/index.ts',
    '^@vigil/temporal-test-server/cli$': '<rootDir>/packages/temporal-test-server/src/cli.ts',
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
  // Temporal workers run native threads; each test file gets its own process so one file's worker
  // shutdown never races another file's.
  maxWorkers: 2,
};
