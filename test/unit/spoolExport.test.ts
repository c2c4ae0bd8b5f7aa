import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Logger, LogLevel, Schedule, Scope } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { MlflowTracing } from "../../src/index.js"
import type { MlflowConfig, Sink } from "../../src/index.js"
import { readTraceFile } from "../../src/internal/format/traceFile.js"
import { noDrops } from "../support/stats.js"
import { fullDiskUnavailable, mountTmpfs, unmountAll } from "../support/tmpfs.js"

/** A loopback port nothing listens on: every request is refused, as by a server that is down. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
)

/** The traces waiting in a spool: their names, read from the files. */
const spooledNames = (spool: string): ReadonlyArray<string> =>
  fs.readdirSync(spool, { withFileTypes: true }).filter((entry) => entry.isDirectory()).flatMap((entry) => {
    const directory = path.join(spool, entry.name)
    return fs.readdirSync(directory).filter((name) => /^\d+-tr-[0-9a-f]+\.json$/.test(name)).map((name) =>
      Either.getOrThrow(readTraceFile(fs.readFileSync(path.join(directory, name), "utf8"))).trace.info
        .tags["mlflow.traceName"]
    )
  }).sort()

const names = (count: number) => Array.from({ length: count }, (_, i) => `t${String(i).padStart(2, "0")}`)

/**
 * Produces `count` traces into a server that is down, with a spool; waits for `until`, then
 * releases the layer. The stats are read after the release (what shutdown did is in them).
 */
const produceWhileDown = (
  count: number,
  options: MlflowConfig.Options,
  until: (stats: Sink.Stats) => boolean = () => true,
  between: (produced: number, stats: Sink.Stats) => boolean = () => true
) =>
  Effect.gen(function*() {
    const spoolDirectory = options.spoolDirectory ?? fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-"))
    const port = yield* closedPort
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      MlflowTracing.layer({
        trackingUri: `http://127.0.0.1:${port}`,
        experimentId: "1",
        workers: 1,
        batchSize: 1,
        retryInitialDelay: "10 millis",
        retryMaxDelay: "20 millis",
        shutdownTimeout: "2 seconds",
        ...options,
        spoolDirectory
      }),
      scope
    )
    const tracing = yield* MlflowTracing.MlflowTracing.pipe(Effect.provide(context))
    yield* Effect.forEach(
      names(count),
      (name, i) =>
        Effect.void.pipe(
          Effect.withSpan(name),
          Effect.zipRight(tracing.stats.pipe(
            Effect.repeat({ until: (stats) => between(i + 1, stats), schedule: Schedule.spaced("2 millis") }),
            Effect.timeout("10 seconds")
          ))
        ),
      { discard: true }
    ).pipe(Effect.provide(context))
    yield* tracing.stats.pipe(
      Effect.repeat({ until, schedule: Schedule.spaced("20 millis") }),
      Effect.timeout("20 seconds")
    )
    yield* Scope.close(scope, Exit.void)
    return { stats: yield* tracing.stats, spoolDirectory }
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))

describe("the exporter with a spool", () => {
  it.live("spools traces whose retry budget is spent instead of giving them up", () =>
    Effect.gen(function*() {
      const { spoolDirectory, stats } = yield* produceWhileDown(
        4,
        { retryTimeout: "100 millis", queueCapacity: 100 },
        (stats) => stats.spooled === 4
      )
      assert.strictEqual(stats.spooled, 4)
      assert.strictEqual(stats.failed, 0)
      assert.strictEqual(stats.exported, 0)
      assert.isAbove(stats.retried, 0)
      assert.deepStrictEqual(stats.dropped, noDrops)
      assert.deepStrictEqual(spooledNames(spoolDirectory), names(4))
    }))

  it.live("spools the traces a full queue pushes out, and those still queued or in flight at shutdown", () =>
    Effect.gen(function*() {
      // a retry budget that outlasts the test: the first trace is in flight at shutdown, the rest
      // either queued or pushed out of the queue of 3 into the spool
      const { spoolDirectory, stats } = yield* produceWhileDown(
        20,
        { retryTimeout: "1 hour", queueCapacity: 3 },
        () => true,
        // paced as a steady producer: each trace pushed out is on disk before the next arrives
        (produced, stats) => stats.spooled >= produced - 4
      )
      assert.strictEqual(stats.spooled, 20)
      assert.strictEqual(stats.failed, 0)
      assert.deepStrictEqual(stats.dropped, noDrops)
      assert.deepStrictEqual(spooledNames(spoolDirectory), names(20))
    }))

  it.live("a burst faster than the disk overflows the hand-off to the spool: those traces are counted, exactly", () =>
    Effect.gen(function*() {
      // 20 traces in one synchronous burst: the hand-off to the spool writer holds as many as the
      // queue (3), the rest of what the queue pushes out is dropped and counted as queueFull
      const { spoolDirectory, stats } = yield* produceWhileDown(20, { retryTimeout: "1 hour", queueCapacity: 3 })
      const kept = spooledNames(spoolDirectory)
      assert.strictEqual(kept.length, stats.spooled)
      assert.isAtLeast(stats.spooled, 4)
      assert.strictEqual(stats.spooled + stats.dropped.queueFull, 20)
      assert.deepStrictEqual({ ...stats.dropped, queueFull: 0 }, noDrops)
      assert.strictEqual(stats.failed, 0)
    }))

  it.live("counts the traces it removes to stay within its size, exactly", () =>
    Effect.gen(function*() {
      const { spoolDirectory, stats } = yield* produceWhileDown(
        12,
        { retryTimeout: "50 millis", queueCapacity: 100, spoolMaxBytes: 8_000 },
        (stats) => stats.spooled === 12
      )
      const kept = spooledNames(spoolDirectory)
      assert.isAbove(stats.dropped.spoolFull, 0)
      assert.isBelow(kept.length, 12)
      assert.strictEqual(kept.length + stats.dropped.spoolFull, 12)
      // the newest are kept
      assert.deepStrictEqual(kept, names(12).slice(12 - kept.length))
    }))

  it.live("without a writable spool, every trace is still accounted for: failed or dropped, never silently", () =>
    Effect.gen(function*() {
      const blocked = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-")), "a-file")
      fs.writeFileSync(blocked, "")
      const { stats } = yield* produceWhileDown(
        10,
        { retryTimeout: "50 millis", queueCapacity: 2, spoolDirectory: blocked },
        (stats) => stats.failed + stats.dropped.queueFull === 10
      )
      assert.strictEqual(stats.spooled, 0)
      assert.strictEqual(stats.failed + stats.dropped.queueFull + stats.dropped.shutdown, 10)
      assert.isAbove(stats.dropped.queueFull, 0)
    }))
})

describe("the warning at shutdown", () => {
  /** The warning of a layer released with 5 traces not exported (the server down), with or without a spool. */
  const warningAtShutdown = (spoolDirectory: string | undefined) =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const port = yield* closedPort
      yield* Effect.forEach(names(5), (name) => Effect.void.pipe(Effect.withSpan(name)), { discard: true }).pipe(
        Effect.provide(MlflowTracing.layer({
          trackingUri: `http://127.0.0.1:${port}`,
          experimentId: "1",
          workers: 1,
          batchSize: 1,
          retryTimeout: "1 hour",
          shutdownTimeout: "100 millis",
          spoolDirectory
        })),
        Effect.provide(Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ message }) => lines.push([message].flat().map(String).join(" ")))
        ))
      )
      return lines.find((line) => line.includes("shut down before the export queue drained"))
    })

  it.live("says the traces go to the spool when there is one, counted as dropped when there is none", () =>
    Effect.gen(function*() {
      const spool = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-"))
      const spooled = yield* warningAtShutdown(spool)
      assert.include(spooled, "written to the spool")
      assert.notInclude(spooled, "lost")
      assert.deepStrictEqual(spooledNames(spool), names(5))
      assert.include(yield* warningAtShutdown(undefined), "the others are counted as dropped (shutdown)")
    }))
})

describe.skipIf(fullDiskUnavailable !== undefined)("the exporter with a spool on a disk that fills up", () => {
  afterAll(unmountAll)

  /** Every file of the spool a whole trace (no partial write left to be replayed); how many. */
  const wholeSpooled = (spool: string) => {
    const all = fs.readdirSync(spool, { withFileTypes: true }).filter((entry) => entry.isDirectory()).flatMap(
      (entry) => fs.readdirSync(path.join(spool, entry.name)).filter((name) => name !== "destination.json")
    )
    assert.deepStrictEqual(all.filter((name) => !/^\d+-tr-[0-9a-f]+\.json$/.test(name)), [])
    return spooledNames(spool).length
  }

  it.live("at shutdown: the traces written are counted as spooled, the rest as dropped", () =>
    Effect.gen(function*() {
      const spoolDirectory = mountTmpfs(64 * 1024)
      const { stats } = yield* produceWhileDown(100, { retryTimeout: "1 hour", queueCapacity: 200, spoolDirectory })
      const files = wholeSpooled(spoolDirectory)
      assert.isAbove(files, 5)
      assert.isBelow(files, 100)
      assert.strictEqual(stats.spooled, files)
      assert.strictEqual(stats.dropped.shutdown, 100 - files)
      assert.deepStrictEqual({ ...stats.dropped, shutdown: 0 }, noDrops)
      assert.strictEqual(stats.failed, 0)
    }))

  it.live("retry budget spent: the traces of a batch written are counted as spooled, the rest as failed", () =>
    Effect.gen(function*() {
      const spoolDirectory = mountTmpfs(64 * 1024)
      const { stats } = yield* produceWhileDown(
        100,
        { retryTimeout: "50 millis", queueCapacity: 200, batchSize: 10, spoolDirectory },
        (stats) => stats.spooled + stats.failed === 100
      )
      const files = wholeSpooled(spoolDirectory)
      assert.isAbove(files, 5)
      assert.isBelow(files, 100)
      assert.strictEqual(stats.spooled, files)
      assert.strictEqual(stats.failed, 100 - files)
      assert.deepStrictEqual(stats.dropped, noDrops)
    }))
})
