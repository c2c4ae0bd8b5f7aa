import type { TestProject } from "vitest/node"
import { ensureChromium } from "./chromium.js"
import { ensureCollector } from "./collector.js"
import { ensureMlflow, type RunningServer, startServer } from "./mlflow.js"
import { ensureNginx } from "./nginx.js"
import { ensureRuntimes } from "./runtimes.js"

/**
 * Installs MLflow, nginx, Chromium, Bun, Deno and workerd and builds the collector if needed, starts
 * a default and a Flask-only server, and stops both afterwards. The installs run here, before any
 * test file: in a test worker, minutes of a synchronous install or build keep it from answering
 * vitest (whose calls to a worker time out after 60 seconds) and fail the run.
 */
export default async function setup(project: TestProject) {
  ensureMlflow()
  ensureNginx()
  ensureChromium()
  ensureCollector()
  // a runtime that cannot be installed fails the tests that run on it, with the reason, not the others
  project.provide("runtimes", ensureRuntimes())
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
