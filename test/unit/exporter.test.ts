import { assert, describe, it } from "@effect/vitest"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberId,
  Layer,
  Logger,
  Metric,
  Scope,
  TestClock
} from "effect"
import { Mlflow, MlflowTracing, Sink } from "../../src/index.js"
import type { MlflowConfig } from "../../src/index.js"
import { metrics } from "../../src/internal/export/ledger.js"
import type { Trace } from "../../src/Trace.js"

type Behavior = (attempt: number, traces: ReadonlyArray<Trace>) => Effect.Effect<void, Sink.ExportError>

/** A sink that records every attempt (with the clock time) and behaves as told. */
const recordingSink = (behavior: Behavior = () => Effect.void) => {
  const attempts: Array<{ readonly at: number; readonly names: ReadonlyArray<string> }> = []
  const stored: Array<Trace> = []
  const sink: Sink.Sink = {
    export: (traces) =>
      Effect.gen(function*() {
        attempts.push({ at: yield* Clock.currentTimeMillis, names: traces.map((t) => t.info.tags["mlflow.traceName"]) })
        yield* behavior(attempts.length, traces)
        stored.push(...traces)
      }),
    exportLateSpans: () => Effect.void
  }
  return { sink, attempts, stored }
}

const tracing = (sink: Sink.Sink, options: MlflowConfig.Options = {}) =>
  MlflowTracing.layerSink(sink, { workers: 1, batchSize: 1, ...options })

const stats = Effect.flatMap(MlflowTracing.MlflowTracing, (t) => t.stats)
const transient = (retryAfterMillis?: number) =>
  new Sink.ExportError({
    detail: "503 unavailable",
    retryable: true,
    ...(retryAfterMillis === undefined ? {} : { retryAfterMillis })
  })

/** Advances the test clock in small steps until `done` holds (or the limit). */
const advanceUntil = (
  done: Effect.Effect<boolean, never, any>,
  step: Duration.DurationInput = "100 millis",
  limit = 2000,
  settle = false
) =>
  Effect.gen(function*() {
    for (let i = 0; i < limit; i++) {
      if (yield* done) return
      yield* TestClock.adjust(step)
      // the export fibers run as macrotasks: with `settle`, the ones a step woke run before the clock
      // moves on (so that the times they read are those they woke at)
      if (settle) {
        for (let j = 0; j < 3; j++) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      }
    }
  })

const trace = (name: string) => Effect.void.pipe(Effect.withSpan(name))

describe("exporter", () => {
  it.effect("retries transient failures with exponential backoff and jitter", () => {
    const { attempts, sink, stored } = recordingSink((n) => n <= 3 ? Effect.fail(transient()) : Effect.void)
    return Effect.gen(function*() {
      yield* trace("t")
      yield* advanceUntil(Effect.sync(() => stored.length === 1), "100 millis", 2000, true)
      const delays = attempts.slice(1).map((a, i) => a.at - attempts[i].at)
      assert.strictEqual(delays.length, 3)
      const bounds = [[800, 1200], [1600, 2400], [3200, 4800]]
      delays.forEach((delay, i) =>
        assert.isTrue(delay >= bounds[i][0] - 100 && delay <= bounds[i][1] + 100, `${delay}`)
      )
      const current = yield* stats
      assert.strictEqual(current.exported, 1)
      assert.strictEqual(current.retried, 3)
      assert.strictEqual(current.failed, 0)
    }).pipe(Effect.provide(tracing(sink, { retryInitialDelay: "1 second" })))
  })

  it.effect("caps delays at the max delay but honours a longer Retry-After", () => {
    const { attempts, sink, stored } = recordingSink((n) =>
      n === 1 ? Effect.fail(transient(30_000)) : n <= 3 ? Effect.fail(transient()) : Effect.void
    )
    return Effect.gen(function*() {
      yield* trace("t")
      yield* advanceUntil(Effect.sync(() => stored.length === 1), "100 millis", 2000, true)
      const delays = attempts.slice(1).map((a, i) => a.at - attempts[i].at)
      assert.isTrue(delays[0] >= 30_000, `Retry-After honoured: ${delays[0]}`)
      // at most the cap with jitter (2 s x 1.2), read within one step of the clock; uncapped, the
      // third delay would be 4 s x at least 0.8
      assert.isTrue(delays[1] <= 2_500 && delays[2] <= 2_500, `capped: ${delays}`)
    }).pipe(Effect.provide(tracing(sink, { retryInitialDelay: "1 second", retryMaxDelay: "2 seconds" })))
  })

  it.effect("gives up when the retry budget is spent", () => {
    const { attempts, sink } = recordingSink(() => Effect.fail(transient()))
    return Effect.gen(function*() {
      yield* trace("t")
      yield* advanceUntil(Effect.map(stats, (s) => s.failed === 1), "100 millis", 300, true)
      const current = yield* stats
      assert.strictEqual(current.failed, 1)
      assert.strictEqual(current.exported, 0)
      // the budget starts at the first failure, which under load can be read one clock step after the first attempt
      assert.isTrue(
        attempts[attempts.length - 1].at - attempts[0].at <= 10_100,
        `last attempt ${attempts[attempts.length - 1].at - attempts[0].at} ms after the first`
      )
      assert.isTrue(attempts.length >= 3 && attempts.length <= 6, `${attempts.length} attempts`)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(attempts.length, current.retried + 1, "no attempt after giving up")
    }).pipe(Effect.provide(tracing(sink, { retryTimeout: "10 seconds" })))
  })

  it.effect("a Retry-After past the retry budget ends the retries: no attempt before the destination's time", () => {
    const { attempts, sink } = recordingSink(() => Effect.fail(transient(60_000)))
    return Effect.gen(function*() {
      yield* trace("t")
      yield* advanceUntil(Effect.map(stats, (s) => s.failed === 1), "100 millis", 300, true)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(attempts.length, 1)
      assert.strictEqual((yield* stats).failed, 1)
    }).pipe(Effect.provide(tracing(sink, { retryTimeout: "10 seconds" })))
  })

  it.effect("a Retry-After holds the other workers' new batches too", () => {
    const { attempts, sink, stored } = recordingSink((n) => n === 1 ? Effect.fail(transient(5_000)) : Effect.void)
    return Effect.gen(function*() {
      yield* trace("a")
      yield* advanceUntil(Effect.sync(() => attempts.length === 1), "100 millis", 10, true)
      yield* TestClock.adjust("1 second")
      yield* trace("b")
      yield* advanceUntil(Effect.sync(() => stored.length === 2), "100 millis", 200, true)
      assert.strictEqual(attempts.length, 3)
      for (const { at } of attempts.slice(1)) assert.isAtLeast(at - attempts[0].at, 5_000)
    }).pipe(Effect.provide(tracing(sink, { workers: 2, retryInitialDelay: "100 millis" })))
  })

  it.effect("does not retry a non-retryable error and reports it once", () => {
    const messages: Array<string> = []
    const logger = Logger.make(({ message }) => void messages.push(String(message)))
    const { attempts, sink } = recordingSink(() =>
      Effect.fail(
        new Sink.ExportError({ detail: "404 RESOURCE_DOES_NOT_EXIST: experiment deleted", retryable: false })
      )
    )
    return Effect.gen(function*() {
      for (let i = 0; i < 5; i++) yield* trace(`t${i}`)
      yield* advanceUntil(Effect.map(stats, (s) => s.failed === 5))
      yield* TestClock.adjust("10 minutes")
      const current = yield* stats
      assert.strictEqual(attempts.length, 5, "one attempt per batch")
      assert.strictEqual(current.retried, 0)
      assert.strictEqual(current.failed, 5)
      assert.strictEqual(messages.filter((m) => m.includes("experiment deleted")).length, 1)
    }).pipe(
      Effect.provide(tracing(sink)),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
  })

  /** A sink that records whether each batch came while the exporter was behind; its first export waits. */
  const contextSink = () => {
    const release = Deferred.unsafeMake<void>(undefined as any)
    const seen: Array<readonly [string, boolean]> = []
    const sink: Sink.Sink = {
      export: (traces, context) =>
        Effect.gen(function*() {
          seen.push([traces[0].info.tags["mlflow.traceName"], context?.backlogged === true])
          if (seen.length === 1) yield* Deferred.await(release)
          return { rejected: [], abridged: context?.backlogged === true ? traces.length : 0 }
        }),
      exportLateSpans: () => Effect.void
    }
    return { sink, seen, release: Deferred.succeed(release, undefined) }
  }

  it.effect("tells the sink when it is behind (a full batch still waits) and counts traces stored abridged", () => {
    const { release, seen, sink } = contextSink()
    return Effect.gen(function*() {
      yield* trace("t0")
      yield* advanceUntil(Effect.map(stats, (s) => s.inFlight === 1), "10 millis")
      for (let i = 1; i <= 5; i++) yield* trace(`t${i}`)
      yield* release
      yield* advanceUntil(Effect.map(stats, (s) => s.exported === 6), "10 millis")
      // batches of two: behind while two or more wait after a take
      assert.deepStrictEqual(seen, [["t0", false], ["t1", true], ["t3", false], ["t5", false]])
      assert.strictEqual((yield* stats).abridged, 2)
    }).pipe(Effect.provide(tracing(sink, { batchSize: 2 })))
  })

  it.effect("the drain at shutdown is behind while more than one batch is left; the last batch goes complete", () => {
    const { release, seen, sink } = contextSink()
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          yield* trace("t0")
          yield* advanceUntil(Effect.map(stats, (s) => s.inFlight === 1), "10 millis")
          yield* trace("t1")
          yield* trace("t2")
          yield* trace("t3")
        }).pipe(Effect.provide(tracing(sink)))
      )
      yield* advanceUntil(Effect.sync(() => seen.length === 1), "10 millis")
      yield* TestClock.adjust("10 millis") // the program ends: the layer's release drains
      yield* release
      yield* Fiber.join(fiber)
      // batches of one: t1 and t2 leave others behind them, t3 is the last
      assert.deepStrictEqual(seen, [["t0", false], ["t1", true], ["t2", true], ["t3", false]])
    })
  })

  const overflow = (strategy: "sliding" | "dropping") => {
    const release = Deferred.unsafeMake<void>(undefined as any)
    const { sink, stored } = recordingSink((n) => n === 1 ? Deferred.await(release) : Effect.void)
    return Effect.gen(function*() {
      yield* trace("t0")
      yield* advanceUntil(Effect.map(stats, (s) => s.inFlight === 1), "10 millis")
      for (let i = 1; i <= 20; i++) yield* trace(`t${i}`)
      const before = yield* stats
      assert.strictEqual(before.queued, 5)
      assert.strictEqual(before.dropped.queueFull, 15)
      yield* Deferred.succeed(release, undefined)
      yield* Mlflow.flush()
      return stored.map((t) => t.info.tags["mlflow.traceName"])
    }).pipe(Effect.provide(tracing(sink, { queueCapacity: 5, queueStrategy: strategy })))
  }

  it.effect("the sliding queue keeps the newest traces and counts the dropped ones", () =>
    Effect.map(
      overflow("sliding"),
      (names) => assert.deepStrictEqual(names, ["t0", "t16", "t17", "t18", "t19", "t20"])
    ))

  it.effect("the dropping queue keeps the oldest traces and counts the dropped ones", () =>
    Effect.map(overflow("dropping"), (names) => assert.deepStrictEqual(names, ["t0", "t1", "t2", "t3", "t4", "t5"])))

  it.effect("bounds traces in progress by count, dropping the oldest", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      const gates = yield* Effect.forEach([1, 2, 3], () => Deferred.make<void>())
      const started = yield* Effect.forEach([1, 2, 3], () => Deferred.make<void>())
      const fibers = yield* Effect.forEach([0, 1, 2], (i) =>
        Deferred.succeed(started[i], undefined).pipe(
          Effect.zipRight(Deferred.await(gates[i])),
          Effect.withSpan(`root${i}`),
          Effect.fork
        ).pipe(Effect.tap(() => Deferred.await(started[i]))))
      const during = yield* stats
      assert.strictEqual(during.inProgress, 2)
      assert.strictEqual(during.dropped.bufferFull, 1)
      yield* Effect.forEach(gates, (gate) => Deferred.succeed(gate, undefined))
      yield* Effect.forEach(fibers, Fiber.join)
      yield* Mlflow.flush()
      assert.deepStrictEqual(stored.map((t) => t.info.tags["mlflow.traceName"]).sort(), ["root1", "root2"])
    }).pipe(Effect.provide(tracing(sink, { bufferMaxSize: 2 })))
  })

  it.effect("drops traces in progress past the buffer TTL", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.sleep("10 seconds").pipe(Effect.withSpan("slow")))
      yield* TestClock.adjust("6 seconds")
      assert.strictEqual((yield* stats).dropped.bufferTtl, 1)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      yield* Mlflow.flush()
      assert.strictEqual(stored.length, 0)
    }).pipe(Effect.provide(tracing(sink, { bufferTtl: "5 seconds" })))
  })

  it.effect("force-ends stuck traces after the trace timeout and exports them as ERROR", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        Effect.never.pipe(Effect.withSpan("stuck-child"), Effect.withSpan("stuck-root"))
      )
      yield* TestClock.adjust("4 seconds")
      yield* Mlflow.flush()
      assert.strictEqual(stored.length, 1)
      const [root, child] = stored[0].spans
      assert.strictEqual(stored[0].info.state, "ERROR")
      assert.strictEqual(root.name, "stuck-root")
      assert.strictEqual(root.status.message, "TraceTimeout: Trace timed out after 3 seconds")
      assert.strictEqual(child.status.code, "ERROR")
      assert.strictEqual(root.events[0].name, "exception")
      assert.strictEqual((yield* stats).timedOut, 1)
      yield* Fiber.interrupt(fiber)
      yield* Mlflow.flush()
      assert.strictEqual(stored.length, 1, "the fiber's own end is ignored")
    }).pipe(Effect.provide(tracing(sink, { traceTimeout: "3 seconds" })))
  })

  it.effect("samples whole traces at the root; children follow; a root can override the ratio", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      yield* Effect.forEach(
        Array.from({ length: 400 }, (_, i) => i),
        (i) => trace("child").pipe(Effect.withSpan(`r${i}`)),
        { discard: true }
      )
      yield* Mlflow.flush()
      const kept = stored.length
      assert.isTrue(kept > 120 && kept < 280, `${kept} of 400 kept at ratio 0.5`)
      assert.isTrue(stored.every((t) => t.spans.length === 2), "children follow their root")
      stored.length = 0
      yield* trace("child").pipe(Mlflow.span("always", { samplingRatio: 1 }))
      yield* trace("child").pipe(Mlflow.span("never", { samplingRatio: 0 }))
      yield* Mlflow.flush()
      assert.deepStrictEqual(stored.map((t) => t.info.tags["mlflow.traceName"]), ["always"])
    }).pipe(Effect.provide(tracing(sink, { samplingRatio: 0.5 })))
  })

  it.effect("can be disabled and re-enabled globally and for a scope", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      yield* Mlflow.setTracingEnabled(false)
      yield* trace("off")
      yield* Mlflow.setTracingEnabled(true)
      yield* trace("on")
      yield* Mlflow.withoutTracing(trace("scoped-off"))
      yield* Mlflow.flush()
      assert.deepStrictEqual(stored.map((t) => t.info.tags["mlflow.traceName"]), ["on"])
    }).pipe(Effect.provide(tracing(sink)))
  })

  it.effect("with synchronous logging, an Mlflow.span root completes after its trace is stored", () => {
    const gate = Deferred.unsafeMake<void>(undefined as any)
    const { sink, stored } = recordingSink(() => Deferred.await(gate))
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.succeed(7).pipe(Mlflow.span("sync")))
      yield* advanceUntil(Effect.map(stats, (s) => s.inFlight === 1), "10 millis")
      assert.isTrue((yield* Fiber.poll(fiber))._tag === "None", "still waiting for the export")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(fiber), 7)
      assert.strictEqual(stored.length, 1)
    }).pipe(Effect.provide(tracing(sink, { asyncLogging: false })))
  })

  it.effect("layer release gives up draining after the shutdown timeout when the sink hangs", () => {
    const { sink } = recordingSink(() => Effect.never)
    return Effect.gen(function*() {
      const release = Effect.scoped(Effect.gen(function*() {
        yield* Layer.buildWithScope(tracing(sink, { shutdownTimeout: "5 seconds" }), yield* Effect.scope).pipe(
          Effect.flatMap((context) => Effect.provide(trace("t"), context))
        )
      }))
      const fiber = yield* Effect.fork(release)
      yield* TestClock.adjust("6 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(exit._tag, "Success", "release finished despite the hanging export")
    })
  })

  it.effect("withFlush stores the trace before returning; metrics count exports", () => {
    const { sink, stored } = recordingSink()
    return Effect.gen(function*() {
      const before = yield* Metric.value(metrics.exported)
      yield* trace("request").pipe(Mlflow.withFlush())
      assert.strictEqual(stored.length, 1)
      yield* Effect.scoped(Effect.zipRight(Mlflow.flushOnScopeClose(), trace("scoped")))
      assert.strictEqual(stored.length, 2)
      const after = yield* Metric.value(metrics.exported)
      assert.strictEqual(after.count - before.count, 2)
    }).pipe(Effect.provide(tracing(sink)))
  })

  it.effect("an attempt that hangs past the time limit is interrupted and retried", () => {
    let interrupted = 0
    const { attempts, sink, stored } = recordingSink((n) =>
      n === 1 ? Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++))) : Effect.void
    )
    return Effect.gen(function*() {
      yield* trace("t")
      yield* advanceUntil(Effect.sync(() => stored.length === 1))
      assert.strictEqual(interrupted, 1)
      assert.strictEqual(attempts.length, 2)
      // the limit is twice the request timeout
      assert.isAtLeast(attempts[1].at - attempts[0].at, 2000)
      const s = yield* stats
      assert.strictEqual(s.retried, 1)
      assert.strictEqual(s.exported, 1)
      assert.strictEqual(s.failed, 0)
    }).pipe(Effect.provide(tracing(sink, { requestTimeout: "1 second" })))
  })

  it.effect("attempts run on one fiber per worker, replaced only after a time-out", () => {
    const fibers: Array<string> = []
    const { sink, stored } = recordingSink((n) =>
      Effect.flatMap(Effect.fiberId, (id) => {
        fibers.push(FiberId.threadName(id))
        return n === 2 ? Effect.never : Effect.void
      })
    )
    return Effect.gen(function*() {
      yield* trace("a")
      yield* advanceUntil(Effect.sync(() => stored.length === 1))
      yield* trace("b")
      yield* advanceUntil(Effect.sync(() => stored.length === 2))
      yield* trace("c")
      yield* advanceUntil(Effect.sync(() => stored.length === 3))
      assert.strictEqual(fibers.length, 4)
      const [first, hung, retry, next] = fibers
      assert.strictEqual(hung, first)
      assert.notStrictEqual(retry, hung)
      assert.strictEqual(next, retry)
      // the worker's own fiber never runs the sink
      const worker = yield* Effect.fiberId
      assert.notInclude(fibers, FiberId.threadName(worker))
    }).pipe(Effect.provide(tracing(sink, { requestTimeout: "1 second" })))
  })

  it.effect("a trace whose attempt hangs at shutdown is counted as dropped, and the runner stops", () => {
    let interrupted = 0
    const { sink } = recordingSink(() => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted++))))
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(tracing(sink, { shutdownTimeout: "1 second" }), scope)
      const tracer = Context.get(context, MlflowTracing.MlflowTracing)
      yield* trace("t").pipe(Effect.provide(context))
      yield* TestClock.adjust("10 millis")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advanceUntil(Effect.map(Fiber.poll(closing), (exit) => exit._tag === "Some"))
      assert.strictEqual(interrupted, 1)
      const s = yield* tracer.stats
      assert.strictEqual(s.dropped.shutdown, 1)
      assert.strictEqual(s.exported, 0)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
  })

  it.effect("drops are warned about at release, once, with the totals, in a process shorter than the interval", () => {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(String(message))
    })
    const { sink } = recordingSink(() => Effect.never)
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        tracing(sink, { queueCapacity: 2, shutdownTimeout: "1 second" }),
        scope
      )
      const tracer = Context.get(context, MlflowTracing.MlflowTracing)
      yield* trace("t0").pipe(Effect.provide(context))
      yield* TestClock.adjust("10 millis") // the worker holds t0
      for (let i = 1; i <= 5; i++) yield* trace(`t${i}`).pipe(Effect.provide(context))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advanceUntil(Effect.map(Fiber.poll(closing), (exit) => exit._tag === "Some"))
      const s = yield* tracer.stats
      assert.strictEqual(s.dropped.queueFull, 3)
      assert.strictEqual(s.dropped.shutdown, 3)
      const dropWarnings = warnings.filter((w) => w.includes("dropped traces"))
      assert.strictEqual(dropWarnings.length, 1, `${warnings}`)
      assert.include(dropWarnings[0], "3 (queueFull)")
      assert.include(dropWarnings[0], "3 (shutdown)")
      assert.include(dropWarnings[0], "shutdownTimeout")
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  it.effect("traces cut off at shutdown are counted as the sink says the destination holds them", () => {
    const asked: Array<number> = []
    const { sink } = recordingSink(() => Effect.never)
    const held: Record<string, Sink.Held> = { t0: "whole", t1: "part", t2: "unknown", t3: "none" }
    const asking: Sink.Sink = {
      ...sink,
      heldAfterCutOff: (traces, millis) =>
        Effect.sync(() => {
          asked.push(millis)
          return traces.map((t) => held[t.info.tags["mlflow.traceName"]])
        })
    }
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        tracing(asking, { workers: 4, shutdownTimeout: "1 second" }),
        scope
      )
      const tracer = Context.get(context, MlflowTracing.MlflowTracing)
      yield* Effect.forEach(["t0", "t1", "t2", "t3"], (name) => trace(name).pipe(Effect.provide(context)))
      yield* TestClock.adjust("10 millis")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* advanceUntil(Effect.map(Fiber.poll(closing), (exit) => exit._tag === "Some"))
      const s = yield* tracer.stats
      assert.deepStrictEqual(
        [s.exported, s.incomplete, s.unconfirmed, s.dropped.shutdown, s.failed],
        [1, 1, 1, 1, 0]
      )
      // each worker's batch asked about, within the fifth of the shutdown timeout kept for it
      assert.strictEqual(asked.length, 4)
      for (const millis of asked) assert.isTrue(millis > 0 && millis <= 200, `${asked}`)
    }).pipe(Effect.provide(Logger.remove(Logger.defaultLogger)))
  })
})
