// Native ESM jest with swc (see ../shared/reference/toolchain.md): type checking is tsc's job.
// Two projects: `unit` holds every tier that starts its own components per test file; `cluster`
// holds the tests that share one real one-node cluster (kubelet, containerd, Multus, our
// manifests), started once by its globalSetup and stopped by its globalTeardown
// (test/harness/cluster.ts).
const common = {
  testEnvironment: 'node',
  // Real components on a shared 2-core machine: a test that sets no timeout of its own gets 30 s,
  // not jest's 5 s (a webhook certificate test took 5.1 s under load).
  testTimeout: 30_000,
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
    },
    {
      ...common,
      displayName: 'cluster',
      roots: ['<rootDir>/test/cluster'],
      testMatch: ['**/*.test.ts'],
      globalSetup: '<rootDir>/test/cluster/globalSetup.mjs',
      globalTeardown: '<rootDir>/test/cluster/globalTeardown.mjs',
    },
  ],
};
