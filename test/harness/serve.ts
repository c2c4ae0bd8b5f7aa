/**
 * `npm run mlflow:server`: installs the pinned MLflow if needed and runs a local tracking server
 * until Ctrl-C. `PORT` picks the port (default 5000).
 */
import { ensureMlflow, startServer } from "./mlflow.js"

ensureMlflow()
const server = await startServer({ port: Number(process.env.PORT ?? 5000) })
console.log(`MLflow ${server.url} is up (data in ${server.dir}). Ctrl-C stops it.`)
console.log(`Trace to it with: MLFLOW_TRACKING_URI=${server.url} npm run demo`)
const stop = () => void server.stop().then(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
