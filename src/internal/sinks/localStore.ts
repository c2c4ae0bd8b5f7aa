import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { DirectoryBounds } from "../../MlflowConfig.js"
import type { SpanData, Trace } from "../../Trace.js"
import { hexToBase64 } from "../common/ids.js"
import { ExportError, type Sink } from "../export/sink.js"
import { spanToJson, traceToJson } from "../format/traceJson.js"
import { withFileLock, writeAtomically } from "./files.js"

const fail = (detail: string) => (error: unknown) =>
  new ExportError({ detail: `${detail}: ${error instanceof Error ? error.message : String(error)}`, retryable: false })

const END = "]}}"

/** A trace file with `spans` added to its spans, but for those it holds already (a retried write). */
const withSpans = (file: string, text: string, spans: ReadonlyArray<SpanData>): string => {
  if (!text.endsWith(END)) throw new Error(`${file} is not a trace file written by effect-mlflow`)
  const added = spans.filter((span) => !text.includes(`"span_id": ${JSON.stringify(hexToBase64(span.spanId))}`))
  if (added.length === 0) return text
  const head = text.slice(0, -END.length)
  return head + (head.endsWith("[") ? "" : ", ") + added.map(spanToJson).join(", ") + END
}

/** How often, at most, the directory is measured to keep it within its bounds (more often when past them). */
const CLEANUP_INTERVAL_MILLIS = 10_000
const TRACE_FILE = /^[0-9a-zA-Z_-]+\.json$/

/**
 * A sink that writes each trace to `<directory>/<trace id>.json`. The first write logs, once, where
 * traces go. Spans that end after their trace was written are spliced into the same file. Writes of
 * one file are serialized, within the process and, with a lock file, between processes sharing the
 * directory; each is atomic (a uniquely named temporary file, then a rename). With bounds, expired
 * trace files are removed, then the oldest until the directory is within its size.
 */
export const makeSink = (
  directory: string,
  bounds: DirectoryBounds = { maxBytes: undefined, maxAge: undefined }
): Effect.Effect<Sink> =>
  Effect.sync(() => {
    const absolute = path.resolve(directory)
    let announced = false
    const fileOf = (traceId: string) => path.join(absolute, `${traceId}.json`)
    // writes of one file, one after the other within this process (the lock file orders processes)
    const queues = new Map<string, Promise<unknown>>()
    const serialized = <A>(file: string, f: () => Promise<A>): Promise<A> => {
      const run = (queues.get(file) ?? Promise.resolve()).catch(() => undefined).then(() => withFileLock(file, f))
      queues.set(file, run)
      const forget = () => {
        if (queues.get(file) === run) queues.delete(file)
      }
      run.then(forget, forget)
      return run
    }

    const maxAgeMillis = bounds.maxAge === undefined ? undefined : Duration.toMillis(bounds.maxAge)
    let measured: { bytes: number; at: number } | undefined
    /** Removes expired trace files, then the oldest, until the directory is within its bounds. */
    const cleanUp = async (written: number) => {
      if (bounds.maxBytes === undefined && maxAgeMillis === undefined) return
      if (measured !== undefined) measured.bytes += written
      const now = Date.now()
      if (
        measured !== undefined && now - measured.at < CLEANUP_INTERVAL_MILLIS &&
        (bounds.maxBytes === undefined || measured.bytes <= bounds.maxBytes)
      ) return
      const names = (await fs.readdir(absolute)).filter((name) => TRACE_FILE.test(name))
      const files = (await Promise.all(names.map(async (name) => {
        const file = path.join(absolute, name)
        const stat = await fs.stat(file).catch(() => undefined)
        return stat === undefined ? undefined : { file, size: stat.size, mtimeMs: stat.mtimeMs }
      }))).filter((file) => file !== undefined).sort((a, b) => a.mtimeMs - b.mtimeMs)
      let bytes = files.reduce((sum, file) => sum + file.size, 0)
      for (const file of files) {
        const expired = maxAgeMillis !== undefined && file.mtimeMs < now - maxAgeMillis
        if (!expired && (bounds.maxBytes === undefined || bytes <= bounds.maxBytes)) break
        // under the file's lock, so that no write of the same trace is cut in two
        await serialized(file.file, () => fs.rm(file.file, { force: true }))
        bytes -= file.size
      }
      measured = { bytes, at: now }
    }

    /** Writes each trace, the others still when one cannot be (the disk filled up, say); those not written, and why. */
    const writeEach = async (traces: ReadonlyArray<Trace>) => {
      await fs.mkdir(absolute, { recursive: true })
      let written = 0
      const rejected: Array<{ readonly traceId: string; readonly error: ExportError }> = []
      for (const trace of traces) {
        const file = fileOf(trace.info.traceId)
        await serialized(file, async () => {
          // a trace continued by another process may be there already: its spans are kept
          const existing = await fs.readFile(file, "utf8").catch(() => undefined)
          const text = existing === undefined ? traceToJson(trace) : withSpans(file, existing, trace.spans)
          await writeAtomically(file, text)
          written += Buffer.byteLength(text)
        }).catch((error) => {
          rejected.push({ traceId: trace.info.traceId, error: fail(`cannot write trace ${trace.info.traceId}`)(error) })
        })
      }
      await cleanUp(written)
      return rejected
    }

    const exportTraces: Sink["export"] = (traces) =>
      Effect.gen(function*() {
        const rejected = yield* Effect.tryPromise({
          try: () => writeEach(traces),
          catch: fail(`cannot write traces to ${absolute}`)
        })
        // none written: the batch failed (reported as such), else those not written are counted as failed
        if (rejected.length > 0 && rejected.length === traces.length) return yield* Effect.fail(rejected[0].error)
        if (!announced) {
          announced = true
          yield* Effect.logInfo(
            `effect-mlflow: traces are written to ${absolute} (set MLFLOW_TRACKING_URI to send them to an MLflow server)`
          )
        }
        return rejected.length === 0 ? undefined : { rejected }
      })

    const exportLateSpans: Sink["exportLateSpans"] = (traceId, spans) =>
      Effect.tryPromise({
        try: () => {
          const file = fileOf(traceId)
          return serialized(
            file,
            async () => writeAtomically(file, withSpans(file, await fs.readFile(file, "utf8"), spans))
          )
        },
        catch: fail(`cannot add late spans to trace ${traceId}`)
      })

    return { export: exportTraces, exportLateSpans }
  })
