import type { TestProject } from "vitest/node"
import { ensureMlflow, type RunningServer, startServer } from "./mlflow.js"
import { ensurePostgres, type RunningPostgres, startPostgres } from "./postgres.js"

/**
 * The integration tests again, against an MLflow server whose backend store is PostgreSQL: a
 * throw-away cluster on loopback (see `postgres.ts`), stopped and removed afterwards.
 */
export default async function setup(project: TestProject) {
  ensureMlflow()
  ensurePostgres()
  let postgres: RunningPostgres | undefined
  const servers: Array<RunningServer> = []
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()))
    postgres?.stop()
  }
  try {
    postgres = await startPostgres()
    const [main, flaskOnly] = await Promise.all([
      startServer({ backendStoreUri: postgres.createDatabase("mlflow") }),
      startServer({ backendStoreUri: postgres.createDatabase("mlflow_flask"), flaskOnly: true })
    ])
    servers.push(main, flaskOnly)
    project.provide("mlflowUrl", main.url)
    project.provide("mlflowFlaskOnlyUrl", flaskOnly.url)
    project.provide("mlflowBackend", `postgres:${postgres.port}`)
    console.log(`MLflow servers on PostgreSQL: ${main.url} (default), ${flaskOnly.url} (Flask only)`)
  } catch (error) {
    await stop()
    throw error
  }
  return stop
}
