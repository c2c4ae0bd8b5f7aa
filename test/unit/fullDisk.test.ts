import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Either, Logger, LogLevel, Schedule } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { MlflowTracing } from "../../src/index.js"
import { toEntry } from "../../src/internal/export/spool.js"
import { readTraceFile } from "../../src/internal/format/traceFile.js"
import * as LocalStore from "../../src/internal/sinks/localStore.js"
import * as Spool from "../../src/internal/sinks/spool.js"
import { numberedTrace } from "../support/numberedTraces.js"
import { fullDiskUnavailable, mountTmpfs, unmountAll } from "../support/tmpfs.js"

afterAll(unmountAll)

const record = Spool.recordFor("http://mlflow.internal:5000", { _tag: "Id", id: "1" })
// about 3 KB each: a tmpfs page (4 KB) per file
const trace = (n: number) => numberedTrace(n, { requestPreview: "x".repeat(3000) })
const traces = (count: number) => Array.from({ length: count }, (_, i) => trace(i + 1))

/** The files of a directory, each a whole trace (else the test fails); `destination.json` left out. */
const wholeTraceFiles = (directory: string): ReadonlyArray<string> =>
  fs.readdirSync(directory).filter((name) => name !== "destination.json").map((name) => {
    const text = fs.readFileSync(path.join(directory, name), "utf8")
    assert.isTrue(Either.isRight(readTraceFile(text)), `${name} is not a whole trace (${text.length} characters)`)
    return name
  })

describe.skipIf(fullDiskUnavailable !== undefined)("a disk that fills up", () => {
  it.live("the spool counts the traces written before the disk filled, and leaves no partial file", () =>
    Effect.gen(function*() {
      const spool = Spool.open(mountTmpfs(80 * 1024), record, { maxBytes: 1 << 30, maxAgeMillis: 60_000 })
      const result = yield* spool.write(traces(100).map(toEntry))
      const files = wholeTraceFiles(spool.directory)
      assert.isAbove(files.length, 5)
      assert.isBelow(files.length, 100)
      assert.strictEqual(result.written, files.length)
      assert.strictEqual(result.unwritten?.count, 100 - files.length)
      assert.include(result.unwritten?.error.detail, "ENOSPC")
      // the next write finds the disk full: it fails, and writes nothing
      const again = yield* Effect.flip(spool.write(traces(1).map(toEntry)))
      assert.strictEqual(again.reason, "spool")
      assert.strictEqual(wholeTraceFiles(spool.directory).length, files.length)
      // the record of the destination is whole (a write that cannot be made leaves the old one)
      assert.deepStrictEqual(
        JSON.parse(fs.readFileSync(path.join(spool.directory, "destination.json"), "utf8")),
        record
      )
    }))

  it.live("the local store counts the traces of a batch it stored as stored, the rest as failed", () =>
    Effect.gen(function*() {
      const directory = mountTmpfs(80 * 1024)
      const sink = yield* LocalStore.makeSink(directory)
      const tracing = MlflowTracing.layerSink(sink, { batchSize: 100, workers: 1 })
      const stats = yield* Effect.gen(function*() {
        const service = yield* MlflowTracing.MlflowTracing
        yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => `t${i}`),
          (name) => Effect.void.pipe(Effect.withSpan(name, { attributes: { filler: "x".repeat(3000) } })),
          { discard: true }
        )
        yield* service.flush("10 seconds")
        yield* service.stats.pipe(
          Effect.repeat({ until: (s) => s.exported + s.failed === 100, schedule: Schedule.spaced("10 millis") }),
          Effect.timeout("10 seconds")
        )
        return yield* service.stats
      }).pipe(Effect.provide(tracing))
      const files = wholeTraceFiles(directory).filter((name) => name.endsWith(".json"))
      assert.isAbove(files.length, 5)
      assert.isBelow(files.length, 100)
      assert.strictEqual(stats.exported, files.length)
      assert.strictEqual(stats.failed, 100 - files.length)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})
