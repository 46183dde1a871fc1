/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is done once by `npm run typecheck`; here we only strip types, which keeps jest fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
  // Temporal workers run native threads; each test file gets its own process so one file's worker
  // shutdown never races another file's.
  maxWorkers: 2,
};
