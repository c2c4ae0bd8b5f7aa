import type { TestProject } from "vitest/node"
import { ensureMlflow, type RunningServer, startServer } from "./mlflow.js"

/** Installs MLflow if needed, starts a default and a Flask-only server, and stops both afterwards. */
export default async function setup(project: TestProject) {
  ensureMlflow()
  const servers: Array<RunningServer> = []
  try {
    const [main, flaskOnly] = await Promise.all([startServer(), startServer({ flaskOnly: true })])
    servers.push(main, flaskOnly)
    project.provide("mlflowUrl", main.url)
    project.provide("mlflowFlaskOnlyUrl", flaskOnly.url)
    project.provide("mlflowBackend", "sqlite")
    console.log(`MLflow servers: ${main.url} (default), ${flaskOnly.url} (Flask only)`)
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()))
    throw error
  }
  return async () => {
    await Promise.all(servers.map((server) => server.stop()))
  }
}
