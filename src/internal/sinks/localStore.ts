import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { SpanData } from "../../Trace.js"
import { hexToBase64 } from "../common/ids.js"
import { ExportError, type Sink } from "../export/sink.js"
import { spanToJson, traceToJson } from "../format/traceJson.js"

const fail = (detail: string) => (error: unknown) =>
  new ExportError({ detail: `${detail}: ${error instanceof Error ? error.message : String(error)}`, retryable: false })

/** Lock files older than this are taken to be left by a process that died holding them. */
const STALE_LOCK_MILLIS = 30_000

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/**
 * Runs `f` holding `<file>.lock`, a lock between processes (`open(..., "wx")` is atomic). A lock
 * older than `STALE_LOCK_MILLIS` is broken.
 */
const withFileLock = async <A>(file: string, f: () => Promise<A>): Promise<A> => {
  const lock = `${file}.lock`
  for (let attempt = 0;; attempt++) {
    try {
      await (await fs.open(lock, "wx")).close()
      break
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error
      const stat = await fs.stat(lock).catch(() => undefined)
      if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_LOCK_MILLIS) {
        await fs.rm(lock, { force: true })
        continue
      }
      if (attempt > 2000) throw new Error(`${lock} stays locked`)
      await sleep(Math.min(50, 1 + attempt))
    }
  }
  try {
    return await f()
  } finally {
    await fs.rm(lock, { force: true })
  }
}

/** Writes a file atomically: a temporary file of a name no other writer uses, then a rename. */
const writeAtomically = async (file: string, text: string): Promise<void> => {
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    await fs.writeFile(temporary, text)
    await fs.rename(temporary, file)
  } catch (error) {
    await fs.rm(temporary, { force: true })
    throw error
  }
}

const END = "]}}"

/** A trace file with `spans` added to its spans, but for those it holds already (a retried write). */
const withSpans = (file: string, text: string, spans: ReadonlyArray<SpanData>): string => {
  if (!text.endsWith(END)) throw new Error(`${file} is not a trace file written by effect-mlflow`)
  const added = spans.filter((span) => !text.includes(`"span_id": ${JSON.stringify(hexToBase64(span.spanId))}`))
  if (added.length === 0) return text
  const head = text.slice(0, -END.length)
  return head + (head.endsWith("[") ? "" : ", ") + added.map(spanToJson).join(", ") + END
}

/**
 * A sink that writes each trace to `<directory>/<trace id>.json`. The first write logs, once, where
 * traces go. Spans that end after their trace was written are spliced into the same file. Writes of
 * one file are serialized, within the process and, with a lock file, between processes sharing the
 * directory; each is atomic (a uniquely named temporary file, then a rename).
 */
export const makeSink = (directory: string): Effect.Effect<Sink> =>
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

    const exportTraces: Sink["export"] = (traces) =>
      Effect.gen(function*() {
        yield* Effect.tryPromise({
          try: async () => {
            await fs.mkdir(absolute, { recursive: true })
            for (const trace of traces) {
              const file = fileOf(trace.info.traceId)
              await serialized(file, async () => {
                // a trace continued by another process may be there already: its spans are kept
                const existing = await fs.readFile(file, "utf8").catch(() => undefined)
                await writeAtomically(
                  file,
                  existing === undefined ? traceToJson(trace) : withSpans(file, existing, trace.spans)
                )
              })
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
