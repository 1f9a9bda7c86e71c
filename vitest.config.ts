import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Network tests bind fixed loopback ports per file; files run in parallel on separate ports.
    pool: 'forks',
    reporters: ['default'],
  },
});
