import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger, LogLevel, Schedule } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Health from "../../src/internal/export/health.js"
import * as Ledger from "../../src/internal/export/ledger.js"
import * as Replay from "../../src/internal/export/replay.js"
import * as Reports from "../../src/internal/export/reports.js"
import { ExportError, type ExportOutcome, type Sink } from "../../src/internal/export/sink.js"
import { type Spool as SpoolService, toEntry } from "../../src/internal/export/spool.js"
import * as Spool from "../../src/internal/sinks/spool.js"
import { numberedTrace } from "../support/numberedTraces.js"

const trace = (n: number) => numberedTrace(n)

const record = Spool.recordFor("http://127.0.0.1:5000", { _tag: "Id", id: "1" })
const roomy = { maxBytes: 1024 * 1024, maxAgeMillis: 60_000 }

/** A spool on disk holding traces 1..count. */
const filled = (count: number) =>
  Effect.gen(function*() {
    const spool = Spool.open(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-replay-")), record, roomy)
    yield* spool.write(Array.from({ length: count }, (_, i) => toEntry(trace(i + 1))))
    return spool
  })

const waiting = (spool: SpoolService) => Effect.promise(() => Spool.waitingCount(spool.directory))
const rejectedFiles = (spool: SpoolService) => {
  const rejected = path.join(spool.directory, "rejected")
  return fs.existsSync(rejected) ? fs.readdirSync(rejected).filter((name) => name.endsWith(".json")) : []
}

const sinkOf = (overrides: Partial<Sink>): Sink => ({
  export: () => Effect.void,
  exportLateSpans: () => Effect.void,
  ...overrides
})

const replay = (spool: SpoolService, sink: Sink, ledger: Ledger.Ledger) =>
  Effect.gen(function*() {
    const health = yield* Health.make(undefined, { interval: Duration.seconds(1), drainWait: Duration.seconds(1) })
    return Replay.run({
      spool,
      sink,
      ledger,
      health,
      reports: Reports.make(Duration.minutes(1)),
      within: (effect) => effect,
      batchSize: 2,
      interval: Duration.millis(10),
      room: () => true,
      timedOut: Replay.timedOutError(Duration.seconds(1))
    })
  })

const snapshot = (ledger: Ledger.Ledger) => ledger.snapshot(0, 0, { dropped: 0 } as never)

describe("the replay of the spool", () => {
  it.scopedLive("delivers: what the destination holds is removed unsent, a refused trace is set aside", () =>
    Effect.gen(function*() {
      const spool = yield* filled(5)
      const sent: Array<string> = []
      const sink = sinkOf({
        holds: (ids) => Effect.succeed(new Set(ids.filter((id) => id.endsWith("1") || id.endsWith("4")))),
        export: (traces): Effect.Effect<ExportOutcome> =>
          Effect.sync(() => {
            sent.push(...traces.map((item) => item.info.tags["mlflow.traceName"]))
            const refused = traces.filter((item) => item.info.tags["mlflow.traceName"] === "trace-3")
            return {
              rejected: refused.map((item) => ({
                traceId: item.info.traceId,
                error: new ExportError({ detail: "bad trace", retryable: false })
              }))
            }
          })
      })
      const ledger = Ledger.make()
      const fiber = yield* Effect.fork(yield* replay(spool, sink, ledger))
      yield* Effect.sync(() => snapshot(ledger)).pipe(
        Effect.repeat({
          until: (stats) => stats.replayed + stats.failed === 5,
          schedule: Schedule.spaced("10 millis")
        }),
        Effect.timeout("5 seconds")
      )
      assert.strictEqual(yield* waiting(spool), 0)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(sent.sort(), ["trace-2", "trace-3", "trace-5"])
      assert.strictEqual(rejectedFiles(spool).length, 1)
      const stats = snapshot(ledger)
      assert.strictEqual(stats.replayed, 4)
      assert.strictEqual(stats.failed, 1)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.scopedLive("a replay interrupted while it claims leaves every trace waiting again", () =>
    Effect.gen(function*() {
      const disk = yield* filled(4)
      const claimedOnce = yield* Effect.makeLatch(false)
      // the files are renamed to claims, then the claim is slow to hand them over: the layer's
      // release interrupts the replay at that moment
      const spool: SpoolService = {
        ...disk,
        claim: (max) =>
          disk.claim(max).pipe(Effect.tap(() => Effect.zipRight(claimedOnce.open, Effect.sleep("300 millis"))))
      }
      let exported = 0
      const sink = sinkOf({
        export: (traces) =>
          Effect.sync(() => {
            exported += traces.length
          })
      })
      const fiber = yield* Effect.fork(yield* replay(spool, sink, Ledger.make()))
      yield* claimedOnce.await
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(exported, 0)
      assert.strictEqual(yield* waiting(disk), 4)
      // and they are claimable at once by this same process (not held for the lease)
      const again = yield* disk.claim(10)
      assert.strictEqual(again.length, 4)
    }))
})
