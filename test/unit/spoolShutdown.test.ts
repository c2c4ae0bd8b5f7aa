import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Logger, LogLevel, Random, Scope } from "effect"
import * as Exporter from "../../src/internal/export/exporter.js"
import { ExportError, type Sink } from "../../src/internal/export/sink.js"
import type { Spool, SpoolEntry } from "../../src/internal/export/spool.js"
import { completedTrace } from "../support/completedTrace.js"
import { fixedSpan } from "../support/numberedTraces.js"

const down: Sink = {
  export: () => Effect.fail(new ExportError({ detail: "503", retryable: true, reason: "HTTP 503" })),
  exportLateSpans: () => Effect.void
}

const item = (n: number) => completedTrace([fixedSpan(n.toString(16).padStart(32, "0"), "00000000000000aa", null)])

/**
 * A spool in memory that records every trace written; each write first waits for `pause` (a
 * moment on the clock, or a gate the test opens).
 */
const memorySpool = (pause: (write: number) => Effect.Effect<void>) => {
  const written: Array<SpoolEntry> = []
  let writes = 0
  const spool: Spool = {
    directory: "memory",
    write: (entries) =>
      Effect.suspend(() => pause(++writes)).pipe(
        Effect.zipRight(Effect.sync(() => written.push(...entries))),
        Effect.as({ written: entries.length, evicted: 0, expired: 0 })
      ),
    claim: () => Effect.succeed([])
  }
  return { spool, written }
}

const options = (spool: Spool, retryBudget: Duration.Duration): Exporter.ExporterOptions => ({
  capacity: 1000,
  strategy: "sliding",
  workers: 2,
  batchSize: 5,
  environment: {},
  retry: { initialDelay: Duration.millis(1), maxDelay: Duration.millis(2), budget: retryBudget },
  attemptTimeout: Duration.seconds(10),
  probeInterval: Duration.hours(1),
  warnInterval: Duration.hours(1),
  processors: [],
  budgets: { maxAttributeBytes: 1 << 20, maxSpanBytes: 1 << 22, maxTraceBytes: 1 << 24, maxSpansPerTrace: 1000 },
  spool
})

/**
 * Offers `count` traces to an exporter whose destination is down, then shuts it down as the layer
 * does (drain, close, then the workers are interrupted) once `before` is done; what the spool holds
 * at the end, and the stats.
 */
const shutDownWhileSpooling = (
  count: number,
  spooled: ReturnType<typeof memorySpool>,
  retryBudget: Duration.Duration,
  before: Effect.Effect<void>,
  during: Effect.Effect<void> = Effect.void
) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const exporter = yield* Exporter.make(down, options(spooled.spool, retryBudget)).pipe(Scope.extend(scope))
    for (let n = 1; n <= count; n++) exporter.offer(item(n))
    yield* before
    exporter.drain()
    const closing = yield* Effect.fork(Effect.zipRight(exporter.close, Scope.close(scope, Exit.void)))
    yield* during
    yield* closing.await
    const stats = yield* exporter.stats(0, { started: 0, ended: 0 })
    const ids = spooled.written.map((entry) => entry.trace.info.traceId)
    return { ids, distinct: new Set(ids).size, stats }
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))

describe("the spool at shutdown", () => {
  it.live("a worker interrupted while it writes its batch to the spool writes it once", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      // the first write (a worker's batch, its retry budget spent) waits until shutdown interrupts it
      const spooled = memorySpool((write) =>
        write === 1 ? Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)) : Effect.void
      )
      const { distinct, ids, stats } = yield* shutDownWhileSpooling(
        40,
        spooled,
        Duration.zero,
        Deferred.await(entered),
        // the interruption is requested while the write is on its way, then the write finishes
        Effect.zipRight(Effect.sleep("50 millis"), Deferred.succeed(gate, undefined))
      )
      assert.strictEqual(ids.length, 40)
      assert.strictEqual(distinct, 40)
      assert.strictEqual(stats.spooled, 40)
      assert.strictEqual(stats.dropped.shutdown, 0)
      assert.strictEqual(stats.failed, 0)
    }))

  it.live(
    "whatever moment shutdown comes, each trace is written once: spool entries == spooled == distinct ids",
    () =>
      Effect.gen(function*() {
        for (let run = 0; run < 60; run++) {
          // writes that take a while, a budget that ends while the shutdown may come, and a shutdown
          // at a moment that varies from run to run
          const spooled = memorySpool(() =>
            Effect.flatMap(Random.nextIntBetween(0, 3), (millis) => Effect.sleep(Duration.millis(millis)))
          )
          const count = 10 + (run % 7) * 5
          const { distinct, ids, stats } = yield* shutDownWhileSpooling(
            count,
            spooled,
            Duration.millis(run % 3),
            Effect.sleep(Duration.micros(BigInt(200 * run)))
          )
          assert.strictEqual(ids.length, distinct, `run ${run}: a trace written twice`)
          assert.strictEqual(stats.spooled, ids.length, `run ${run}`)
          assert.strictEqual(distinct + stats.dropped.shutdown + stats.failed, count, `run ${run}`)
          assert.strictEqual(distinct, count, `run ${run}`)
        }
      }),
    60_000
  )
})
