import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream, TestClock } from "effect"
import { Mlflow, MlflowTracing, SpanType } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"

const only = Effect.map(TestTracing.traces, (traces) => {
  assert.strictEqual(traces.length, 1)
  return traces[0]
})

const span = (trace: { spans: ReadonlyArray<any> }, name: string) => {
  const found = trace.spans.find((s) => s.name === name)
  assert.isDefined(found, `span ${name}`)
  return found!
}

/** Under a root span `root`, forks a daemon span `name` and waits until it has started; it ends on `release`. */
const rootWithDaemonChild = (name: string) =>
  Effect.gen(function*() {
    const release = yield* Deferred.make<void>()
    const started = yield* Deferred.make<void>()
    const child = yield* Effect.gen(function*() {
      const fiber = yield* Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Deferred.await(release)),
        Effect.withSpan(name),
        Effect.forkDaemon
      )
      yield* Deferred.await(started)
      return fiber
    }).pipe(Effect.withSpan("root"))
    return { child, release }
  })

/** Lets the exporter run, then checks that no trace has reached it yet. */
const nothingHandedOff = (message: string) =>
  Effect.gen(function*() {
    yield* Effect.repeatN(Effect.yieldNow(), 20)
    const stats = yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats)
    assert.strictEqual(stats.exported + stats.queued + stats.inFlight, 0, message)
  })

describe("MLflow tracer", () => {
  it.effect("nests spans across fibers into one trace with correct parents", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* Effect.all([Effect.void.pipe(Effect.withSpan("a")), Effect.void.pipe(Effect.withSpan("b"))], {
          concurrency: "unbounded"
        })
        const fiber = yield* Effect.fork(Effect.void.pipe(Effect.withSpan("forked")))
        yield* Fiber.join(fiber)
        yield* Stream.make(1, 2, 3).pipe(
          Stream.mapEffect((n) => Effect.succeed(n).pipe(Effect.withSpan(`item-${n}`))),
          Stream.runDrain,
          Effect.withSpan("stream")
        )
      }).pipe(Effect.withSpan("root"))
      const trace = yield* only
      const root = span(trace, "root")
      assert.strictEqual(trace.spans[0], root)
      assert.match(trace.info.traceId, /^tr-[0-9a-f]{32}$/)
      assert.strictEqual(root.parentSpanId, null)
      for (const name of ["a", "b", "forked", "stream"]) assert.strictEqual(span(trace, name).parentSpanId, root.spanId)
      for (const n of [1, 2, 3]) assert.strictEqual(span(trace, `item-${n}`).parentSpanId, span(trace, "stream").spanId)
      assert.strictEqual(trace.spans.length, 8)
      assert.isTrue(trace.spans.every((s) => s.traceId === root.traceId))
      assert.strictEqual(trace.info.tags["mlflow.traceName"], "root")
      assert.strictEqual(trace.info.state, "OK")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("traces named Effect.fn functions", () =>
    Effect.gen(function*() {
      const inner = Effect.fn("inner")(function*(n: number) {
        return n + 1
      })
      const outer = Effect.fn("outer")(function*() {
        return yield* inner(1)
      })
      assert.strictEqual(yield* outer(), 2)
      const trace = yield* only
      assert.deepStrictEqual(trace.spans.map((s) => s.name), ["outer", "inner"])
      assert.strictEqual(span(trace, "inner").parentSpanId, span(trace, "outer").spanId)
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("keeps a child that ends after its root within the grace period", () =>
    Effect.gen(function*() {
      const { child, release } = yield* rootWithDaemonChild("daemon")
      yield* nothingHandedOff("the trace waits for its open child")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(child)
      const trace = yield* only
      assert.deepStrictEqual(trace.spans.map((s) => s.name), ["root", "daemon"])
      assert.strictEqual(span(trace, "daemon").parentSpanId, span(trace, "root").spanId)
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("exports a span that ends after the grace period as a late span", () =>
    Effect.gen(function*() {
      const { child, release } = yield* rootWithDaemonChild("slow")
      yield* TestClock.adjust("9 seconds")
      yield* nothingHandedOff("still within the grace period")
      yield* TestClock.adjust("2 seconds")
      const trace = yield* only
      assert.deepStrictEqual(trace.spans.map((s) => s.name), ["root"])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(child)
      const late = yield* Effect.flatMap(TestTracing.TestTraces, (t) => t.lateSpans)
      assert.deepStrictEqual(late.map((s) => s.name), ["slow"])
      assert.strictEqual(late[0].parentSpanId, trace.spans[0].spanId)
    }).pipe(Effect.provide(TestTracing.layer({ lateSpanGrace: "10 seconds" }))))

  it.effect("ends a failed span with ERROR and an exception event", () =>
    Effect.gen(function*() {
      class NotFound extends Error {
        readonly _tag = "NotFound"
      }
      const exit = yield* Effect.fail(new NotFound("no such doc")).pipe(
        Effect.withSpan("lookup"),
        Effect.withSpan("root"),
        Effect.exit
      )
      assert.isTrue(exit._tag === "Failure")
      const trace = yield* only
      const lookup = span(trace, "lookup")
      assert.deepStrictEqual(lookup.status, { code: "ERROR", message: "NotFound: no such doc" })
      const event = lookup.events.find((e: any) => e.name === "exception")
      assert.strictEqual(event.attributes["exception.type"], "NotFound")
      assert.strictEqual(event.attributes["exception.message"], "no such doc")
      assert.include(event.attributes["exception.stacktrace"], "no such doc")
      assert.strictEqual(trace.info.state, "ERROR")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("records defects like failures", () =>
    Effect.gen(function*() {
      yield* Effect.die("boom").pipe(Effect.withSpan("root"), Effect.exit)
      const trace = yield* only
      assert.deepStrictEqual(trace.spans[0].status, { code: "ERROR", message: "string: boom" })
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("ends interrupted spans with ERROR 'Interrupted' and an exception event (the UI's error mark)", () =>
    Effect.gen(function*() {
      yield* Effect.race(
        Effect.never.pipe(Effect.withSpan("loser")),
        Effect.succeed(1).pipe(Effect.withSpan("winner"))
      ).pipe(Effect.withSpan("root"))
      const trace = yield* only
      assert.deepStrictEqual(span(trace, "loser").status, { code: "ERROR", message: "Interrupted" })
      const [event] = span(trace, "loser").events
      assert.strictEqual(event?.name, "exception")
      assert.strictEqual(event?.attributes["exception.type"], "Interrupted")
      assert.strictEqual(span(trace, "loser").attributes["mlflow.spanLogLevel"], 40)
      assert.deepStrictEqual(span(trace, "winner").status, { code: "OK", message: "" })
      assert.strictEqual(trace.info.state, "OK")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("ends every span of an interrupted fiber", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const fiber = yield* Deferred.succeed(started, undefined).pipe(
        Effect.zipRight(Effect.never),
        Effect.withSpan("inner"),
        Effect.withSpan("root"),
        Effect.fork
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      const trace = yield* only
      assert.deepStrictEqual(trace.spans.map((s) => [s.name, s.status.code]), [["root", "ERROR"], ["inner", "ERROR"]])
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("turns Effect.log into span events", () =>
    Effect.gen(function*() {
      yield* Effect.log("hello").pipe(Effect.annotateLogs("key", "value"), Effect.withSpan("root"))
      const trace = yield* only
      const event = trace.spans[0].events[0]
      assert.strictEqual(event.name, "hello")
      assert.strictEqual(event.attributes.key, "value")
      assert.strictEqual(event.attributes["effect.logLevel"], "INFO")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("records span type, inputs and outputs with Mlflow.span, snapshotting values", () =>
    Effect.gen(function*() {
      const inputs = { query: "q", filters: ["a"] }
      const out = yield* Effect.sync(() => ({ docs: [1, 2] })).pipe(
        Mlflow.span("retrieve", { spanType: SpanType.SpanType.RETRIEVER, inputs })
      )
      inputs.filters.push("mutated later")
      out.docs.push(3)
      const trace = yield* only
      const retrieve = trace.spans[0]
      assert.strictEqual(retrieve.attributes["mlflow.spanType"], "RETRIEVER")
      assert.deepStrictEqual(retrieve.attributes["mlflow.spanInputs"], { query: "q", filters: ["a"] })
      assert.deepStrictEqual(retrieve.attributes["mlflow.spanOutputs"], { docs: [1, 2] })
      assert.strictEqual(retrieve.attributes["mlflow.traceRequestId"], trace.info.traceId)
      assert.strictEqual(trace.info.requestPreview, "{\"query\": \"q\", \"filters\": [\"a\"]}")
      assert.strictEqual(trace.info.responsePreview, "{\"docs\": [1, 2]}")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("accepts all 15 span types and custom ones; plain spans are UNKNOWN", () =>
    Effect.gen(function*() {
      const types = [...SpanType.all, "MY_CUSTOM_TYPE"]
      yield* Effect.forEach(types, (type) => Effect.void.pipe(Mlflow.span(type, { spanType: type }))).pipe(
        Effect.zipRight(Effect.void.pipe(Effect.withSpan("plain"))),
        Effect.withSpan("root")
      )
      const trace = yield* only
      assert.strictEqual(SpanType.all.length, 15)
      for (const type of types) assert.strictEqual(span(trace, type).attributes["mlflow.spanType"], type)
      assert.strictEqual(span(trace, "plain").attributes["mlflow.spanType"], "UNKNOWN")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("serializes hostile attribute values without throwing", () =>
    Effect.gen(function*() {
      const cyclic: any = { name: "c" }
      cyclic.self = cyclic
      const hostile = {
        cyclic,
        big: 10n ** 30n,
        fn: function namedFn() {},
        date: new Date(0),
        map: new Map([["k", 1]]),
        set: new Set([1, 2]),
        nan: NaN,
        bytes: new Uint8Array([1, 2, 3]),
        get throws(): never {
          throw new Error("getter")
        }
      }
      yield* Mlflow.setInputs(hostile).pipe(Effect.withSpan("root"))
      const inputs = (yield* only).spans[0].attributes["mlflow.spanInputs"]
      assert.deepStrictEqual(inputs, {
        cyclic: { name: "c", self: "[Circular]" },
        big: "1000000000000000000000000000000",
        fn: "[Function namedFn]",
        date: "1970-01-01T00:00:00.000Z",
        map: { k: 1 },
        set: [1, 2],
        nan: "NaN",
        bytes: { type: "Uint8Array", byteLength: 3, base64: "AQID" },
        throws: "[Unserializable: getter]"
      })
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("keeps a __proto__ key of user data as data everywhere", () =>
    Effect.gen(function*() {
      const hostile = JSON.parse("{\"__proto__\": \"x\"}")
      yield* Effect.gen(function*() {
        yield* Mlflow.setAttribute("__proto__", { nested: JSON.parse("{\"__proto__\": 1}") })
        yield* Mlflow.updateCurrentTrace({ tags: hostile, metadata: hostile })
      }).pipe(Effect.withSpan("root"), Mlflow.withTraceContext({ tags: hostile }))
      const trace = yield* only
      const attributes = trace.spans[0].attributes as any
      assert.strictEqual(Object.getPrototypeOf(attributes), Object.prototype)
      assert.strictEqual(JSON.stringify(attributes["[__proto__]"]), "{\"nested\":{\"__proto__\":1}}")
      assert.strictEqual(trace.info.tags["[__proto__]"], "x")
      assert.strictEqual(trace.info.metadata["[__proto__]"], "x")
      assert.strictEqual(Object.getPrototypeOf(trace.info.tags), Object.prototype)
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("updates the current trace: tags, metadata, session, user, state", () =>
    Effect.gen(function*() {
      yield* Mlflow.updateCurrentTrace({
        tags: { env: "prod", n: 1 },
        metadata: { version: "1.2" },
        sessionId: "s-1",
        user: "u-1",
        clientRequestId: "req-1",
        state: "ERROR"
      }).pipe(Effect.withSpan("child"), Effect.withSpan("root"))
      yield* Mlflow.updateCurrentTrace({ tags: { ignored: "outside" } })
      const trace = yield* only
      assert.strictEqual(trace.info.tags.env, "prod")
      assert.strictEqual(trace.info.tags.n, "1")
      assert.strictEqual(trace.info.metadata.version, "1.2")
      assert.strictEqual(trace.info.metadata["mlflow.trace.session"], "s-1")
      assert.strictEqual(trace.info.metadata["mlflow.trace.user"], "u-1")
      assert.strictEqual(trace.info.clientRequestId, "req-1")
      assert.strictEqual(trace.info.state, "ERROR")
      assert.deepStrictEqual(trace.spans[0].status.code, "OK")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("knows the current and the last trace id", () =>
    Effect.gen(function*() {
      assert.isTrue((yield* Mlflow.currentTraceId)._tag === "None")
      const inside = yield* Mlflow.currentTraceId.pipe(Effect.withSpan("root"))
      const last = yield* Mlflow.lastTraceId
      assert.isTrue(inside._tag === "Some" && last._tag === "Some" && inside.value === last.value)
      assert.strictEqual((yield* only).info.traceId, last._tag === "Some" ? last.value : "")
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("aggregates token usage without double counting", () =>
    Effect.gen(function*() {
      const llm = (n: number) =>
        Mlflow.setTokenUsage({ input_tokens: n, output_tokens: 1 }).pipe(Effect.withSpan("llm"))
      yield* Effect.all([
        // an agent span that reports the usage of its own LLM calls: counted once
        Effect.all([llm(10), llm(20)]).pipe(
          Effect.zipRight(Mlflow.setTokenUsage({ input_tokens: 30, output_tokens: 2 })),
          Effect.withSpan("agent")
        ),
        llm(5).pipe(Effect.withSpan("step"))
      ]).pipe(Effect.withSpan("root"))
      const trace = yield* only
      assert.deepStrictEqual(JSON.parse(trace.info.metadata["mlflow.trace.tokenUsage"]), {
        input_tokens: 35,
        output_tokens: 3,
        total_tokens: 38
      })
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("does not change the program's result", () =>
    Effect.gen(function*() {
      const program = Effect.succeed(21).pipe(Effect.map((n) => n * 2), Effect.withSpan("x"))
      const traced = yield* program.pipe(Effect.provide(TestTracing.layer()))
      const plain = yield* program
      assert.strictEqual(traced, plain)
    }))
})
