import { ConfigProvider, Effect, Logger, Option, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { inject } from "vitest"
import type { Sink } from "../../src/index.js"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import type { Options } from "../../src/MlflowConfig.js"
import * as Harness from "../harness/mlflow.js"
import * as Postgres from "../harness/postgres.js"

/** A Python script with MLflow's client (the judge); its last stdout line is JSON, answered. */
export const python = (script: string, env: Readonly<Record<string, string>> = {}): Effect.Effect<any> =>
  Effect.promise(() => Harness.python(script, env))

/** `mlflow.get_trace(id).to_dict()` for each id, read by MLflow's Python client. */
export const pythonGetTraces = (trackingUri: string, ids: ReadonlyArray<string>): Effect.Effect<Array<any>> =>
  Effect.promise(() => Harness.pythonGetTraces(trackingUri, ids))

/**
 * A tracking server of the test's own (for outages, restarts), stopped with the scope; on the
 * project's backend (a PostgreSQL database per server directory, so a restart finds its data).
 */
export const ownServer = (
  options: Harness.ServerOptions = {}
): Effect.Effect<Harness.RunningServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => {
      const backend = inject("mlflowBackend")
      if (!backend.startsWith("postgres:") || options.backendStoreUri !== undefined) {
        return Harness.startServer(options)
      }
      const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-server-"))
      const database = `own_${path.basename(dir).replace(/\W/g, "_").toLowerCase()}`
      return Harness.startServer({
        ...options,
        dir,
        backendStoreUri: Postgres.databaseAt(Number(backend.slice("postgres:".length)), database)
      })
    }),
    (server) => Effect.promise(server.stop)
  )

/** POSTs JSON to the server (outside the library: the test's own set-up); answers the JSON answer. */
export const postJson = (url: string, body: unknown): Effect.Effect<any> =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then((response) => response.json())
  )

/** The id of the experiment named `name`, asked of the server directly (the test's own check). */
export const experimentIdByName = (url: string, name: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const response = await fetch(
      `${url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`
    )
    return (await response.json()).experiment.experiment_id
  })

/** A loopback port nothing listens on. */
export const freePort: Effect.Effect<number> = Effect.promise(Harness.freePort)

export const mlflowUrl = (): string => inject("mlflowUrl")
export const flaskOnlyUrl = (): string => inject("mlflowFlaskOnlyUrl")

let counter = 0
export const uniqueName = (prefix: string): string => `${prefix}-${Date.now()}-${process.pid}-${counter++}`

/** Runs `program` traced into MLflow (the layer is released, so flushed, before returning). */
export const runTraced = <A, E>(
  program: Effect.Effect<A, E>,
  options: Options
) =>
  Effect.gen(function*() {
    const result = yield* program
    const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
    return { result, traceId }
  }).pipe(Effect.provide(MlflowTracing.layer(options)))

/** `GET /api/3.0/mlflow/traces/get`: trace info and spans from the tracking store. */
export const restGetTrace = (url: string, traceId: string): Effect.Effect<any> =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/api/3.0/mlflow/traces/get?trace_id=${traceId}&allow_partial=false`)
    if (!response.ok) throw new Error(`GET trace ${traceId}: ${response.status} ${await response.text()}`)
    return (await response.json()).trace
  })

/** Decodes an OTLP JSON `AnyValue` as the server returns it (snake_case). */
export const anyValue = (value: any): unknown => {
  if (value === undefined || value === null) return null
  if ("string_value" in value) return value.string_value
  if ("bool_value" in value) return value.bool_value
  if ("int_value" in value) return Number(value.int_value)
  if ("double_value" in value) return value.double_value
  if ("array_value" in value) return (value.array_value.values ?? []).map(anyValue)
  if ("kvlist_value" in value) {
    return Object.fromEntries((value.kvlist_value.values ?? []).map((kv: any) => [kv.key, anyValue(kv.value)]))
  }
  return null
}

export const restAttributes = (span: any): Record<string, unknown> =>
  Object.fromEntries((span.attributes ?? []).map((kv: any) => [kv.key, anyValue(kv.value)]))

/** Span attribute values in `Trace.to_dict()` are JSON strings (raw value when not JSON). */
export const pyAttributes = (span: any): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(span.attributes).map(([key, value]) => {
      try {
        return [key, JSON.parse(value as string)]
      } catch {
        return [key, value]
      }
    })
  )

export const base64ToHex = (value: string | null | undefined): string | null =>
  value ? Buffer.from(value, "base64").toString("hex") : null

/**
 * Traces `t0`..`t<n-1>` (CHAIN spans with `inputs(i)`) exported in one batch by one worker (they
 * are queued before it takes them), flushed; answers the stats after the layer is released.
 */
export const exportOneBatch = (
  options: Options,
  n: number,
  inputs: (i: number) => unknown = (i) => ({ i })
): Effect.Effect<Sink.Stats, unknown> =>
  Effect.gen(function*() {
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => Effect.succeed(i).pipe(Mlflow.span(`t${i}`, { spanType: "CHAIN", inputs: inputs(i) })),
      { discard: true }
    )
    const tracing = yield* MlflowTracing.MlflowTracing
    yield* tracing.flush()
    return yield* tracing.stats
  }).pipe(
    Effect.provide(MlflowTracing.layer({ workers: 1, batchSize: n, ...options })),
    Effect.provide(Logger.remove(Logger.defaultLogger))
  )

/** Trace names stored in an experiment (sorted; none when it does not exist), read with MLflow's Python client. */
export const storedNames = (
  url: string,
  experimentName: string,
  env: Readonly<Record<string, string>> = {}
): Effect.Effect<Array<string>> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False) if exp else []
print(json.dumps(sorted(t.info.tags.get("mlflow.traceName") for t in traces)))
`,
    { MLFLOW_TRACKING_URI: url, ...env }
  )

/** The log lines (message and cause) of what runs with `layer`. */
export const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ cause, message }) => void lines.push(`${String(message)} ${String(cause)}`))
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/**
 * What `work` traces through the layer configured from these variables alone: the stats after the
 * layer's release, and the log lines.
 */
export const traceWithEnv = <E>(
  env: Readonly<Record<string, string>>,
  work: Effect.Effect<void, E, MlflowTracing.MlflowTracing>,
  logs = captureLogs()
) =>
  Effect.gen(function*() {
    const tracing = yield* MlflowTracing.MlflowTracing
    yield* work
    return tracing
  }).pipe(
    Effect.provide(MlflowTracing.layerConfig()),
    Effect.flatMap((tracing) => tracing.stats),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.provide(logs.layer),
    Effect.map((stats) => ({ stats, logs: logs.lines }))
  )
