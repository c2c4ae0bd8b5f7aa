import { defineConfig } from "vitest/config"
import { postgresAvailable } from "./test/harness/postgres.js"

// the integration tests that matter most per backend run again on PostgreSQL when it is there (or
// installable) unless EFFECT_MLFLOW_POSTGRES=0; EFFECT_MLFLOW_POSTGRES=1 requires it
const postgres = process.env.EFFECT_MLFLOW_POSTGRES === "1" ||
  (process.env.EFFECT_MLFLOW_POSTGRES !== "0" && postgresAvailable())
const onPostgres = [
  "export",
  "faults",
  "query",
  "parity",
  "ui",
  "traceInfo",
  "resume",
  "lateSpans",
  "distributed",
  "filterJudge",
  "attachments"
]

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
      },
      ...(postgres
        ? [{
          test: {
            name: "integration-postgres",
            include: onPostgres.map((name) => `test/integration/${name}.test.ts`),
            globalSetup: ["test/harness/globalSetupPostgres.ts"],
            testTimeout: 120_000,
            hookTimeout: 180_000
          }
        }]
        : [])
    ]
  }
})
