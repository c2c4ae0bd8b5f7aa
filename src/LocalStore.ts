/**
 * The embedded default: with no tracking server configured, finished traces are written to a local
 * directory, one file per trace (`<trace id>.json`), in MLflow's `Trace.to_json()` format, readable
 * by Python's `mlflow.entities.Trace.from_json`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { ExportError, type Sink } from "./Exporter.js"
import { spanToJson, traceToJson } from "./internal/traceJson.js"
import { DEFAULT_LOCAL_DIRECTORY } from "./MlflowConfig.js"

/**
 * The directory used when neither `MLFLOW_TRACKING_URI` nor a directory is given.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDirectory = DEFAULT_LOCAL_DIRECTORY

const fail = (detail: string) => (error: unknown) =>
  new ExportError({ detail: `${detail}: ${error instanceof Error ? error.message : String(error)}`, retryable: false })

/**
 * A sink that writes each trace to `<directory>/<trace id>.json`. The first write logs, once, where
 * traces go. Spans that end after their trace was written are spliced into the same file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSink = (directory: string): Effect.Effect<Sink> =>
  Effect.sync(() => {
    const absolute = path.resolve(directory)
    let announced = false
    const fileOf = (traceId: string) => path.join(absolute, `${traceId}.json`)

    const exportTraces: Sink["export"] = (traces) =>
      Effect.gen(function*() {
        yield* Effect.tryPromise({
          try: async () => {
            await fs.mkdir(absolute, { recursive: true })
            for (const trace of traces) {
              const file = fileOf(trace.info.traceId)
              await fs.writeFile(`${file}.tmp`, traceToJson(trace))
              await fs.rename(`${file}.tmp`, file)
            }
          },
          catch: fail(`cannot write traces to ${absolute}`)
        })
        if (!announced) {
          announced = true
          yield* Effect.logInfo(
            `effect-mlflow: traces are written to ${absolute} (set MLFLOW_TRACKING_URI to send them to an MLflow server)`
          )
        }
      })

    const exportLateSpans: Sink["exportLateSpans"] = (traceId, spans) =>
      Effect.tryPromise({
        try: async () => {
          const file = fileOf(traceId)
          const text = await fs.readFile(file, "utf8")
          const end = "]}}"
          if (!text.endsWith(end)) throw new Error(`${file} is not a trace file written by effect-mlflow`)
          const head = text.slice(0, -end.length)
          const separator = head.endsWith("[") ? "" : ", "
          await fs.writeFile(`${file}.tmp`, head + separator + spans.map(spanToJson).join(", ") + end)
          await fs.rename(`${file}.tmp`, file)
        },
        catch: fail(`cannot add late spans to trace ${traceId}`)
      })

    return { export: exportTraces, exportLateSpans }
  })
