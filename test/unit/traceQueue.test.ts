import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, FiberId, Layer } from "effect"
import { MlflowTracing, type Sink } from "../../src/index.js"
import * as TraceQueue from "../../src/internal/export/traceQueue.js"

/** The number the next fiber will get: Effect numbers every fiber it starts, process-wide. */
const nextFiberNumber = (): number => {
  const id = Effect.runSync(Effect.fiberId)
  return FiberId.isRuntime(id) ? id.id : Number.NaN
}

describe("the export queue", () => {
  it.effect("sliding: a full queue evicts its oldest item, and keeps the order", () =>
    Effect.gen(function*() {
      const queue = yield* TraceQueue.make<string>(2, "sliding")
      assert.deepStrictEqual(queue.offer("a"), { _tag: "Queued" })
      assert.deepStrictEqual(queue.offer("b"), { _tag: "Queued" })
      assert.deepStrictEqual(queue.offer("c"), { _tag: "Evicted", oldest: "a" })
      assert.strictEqual(queue.size(), 2)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* queue.takeBetween(1, 10)), ["b", "c"])
    }))

  it.effect("dropping: a full queue refuses the new item", () =>
    Effect.gen(function*() {
      const queue = yield* TraceQueue.make<string>(1, "dropping")
      queue.offer("a")
      assert.deepStrictEqual(queue.offer("b"), { _tag: "Refused" })
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* queue.takeBetween(1, 10)), ["a"])
    }))

  it.effect("an item offered while a worker waits goes to the worker", () =>
    Effect.gen(function*() {
      const queue = yield* TraceQueue.make<string>(1, "sliding")
      const taker = yield* Effect.fork(queue.takeBetween(1, 10))
      yield* Effect.yieldNow()
      assert.deepStrictEqual(queue.offer("a"), { _tag: "Queued" })
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(taker)), ["a"])
      assert.strictEqual(queue.size(), 0)
    }))

  it.effect("close is a gate: it answers what was left, and later offers are refused as closed", () =>
    Effect.gen(function*() {
      const queue = yield* TraceQueue.make<string>(4, "sliding")
      queue.offer("a")
      queue.offer("b")
      assert.deepStrictEqual(yield* queue.close, ["a", "b"])
      assert.deepStrictEqual(queue.offer("c"), { _tag: "Closed" })
      assert.strictEqual(queue.size(), 0)
    }))

  it.live("ending a root span on a full sliding queue runs no effect on the user's fiber", () => {
    const hanging: Sink.Sink = { export: () => Effect.never, exportLateSpans: () => Effect.never }
    return Effect.gen(function*() {
      // the one worker takes the first trace and hangs in the sink; the second fills the queue
      yield* Effect.void.pipe(Effect.withSpan("first"))
      yield* Effect.sleep("20 millis")
      yield* Effect.void.pipe(Effect.withSpan("second"))
      const span = yield* Effect.makeSpan("third")
      const before = nextFiberNumber()
      span.end(BigInt(Date.now()) * 1_000_000n, Exit.void)
      const after = nextFiberNumber()
      // only the probe itself started a fiber in between
      assert.strictEqual(after - before, 1)
      const stats = yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats)
      assert.strictEqual(stats.dropped.queueFull, 1)
    }).pipe(
      Effect.provide(
        MlflowTracing.layerSink(hanging, { queueCapacity: 1, workers: 1, shutdownTimeout: "10 millis" }).pipe(
          Layer.orDie
        )
      )
    )
  })
})
