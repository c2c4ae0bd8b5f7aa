import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    fileParallelism: false,
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "examples/**/*.test.ts"],
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/harness/globalSetup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000
        }
      }
    ]
  }
})
