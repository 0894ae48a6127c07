import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Oracle-heavy tests write big sparse images; two cores, so keep workers few.
    maxWorkers: 2,
  },
});
