import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Stream } from "effect"
import { TracedService } from "../../src/index.js"
import * as TestTracing from "../../src/testing/TestTracing.js"

class Retriever extends Context.Tag("Retriever")<Retriever, {
  readonly retrieve: (
    query: string,
    k: number
  ) => Effect.Effect<ReadonlyArray<{ id: string; text: string; score: number }>>
  readonly stream: (query: string) => Stream.Stream<string>
  readonly count: Effect.Effect<number>
  readonly name: string
}>() {}

const RetrieverLive = Layer.succeed(Retriever, {
  retrieve: (query, k) =>
    Effect.succeed(
      Array.from({ length: k }, (_, i) => ({ id: `doc-${i}`, text: `${query} #${i}`, score: 1 - i / 10 }))
    ),
  stream: (query) => Stream.make(`${query} a`, `${query} b`, `${query} c`),
  count: Effect.succeed(3),
  name: "vector store"
})

const Traced = TracedService.layer(Retriever, {
  retrieve: { spanType: "RETRIEVER", inputs: (query, k) => ({ query, k }) },
  stream: "RETRIEVER"
}).pipe(Layer.provide(RetrieverLive))

describe("TracedService", () => {
  it.effect("runs the chosen methods in spans of their type, with RETRIEVER outputs as MLflow documents", () =>
    Effect.gen(function*() {
      const retriever = yield* Retriever
      const docs = yield* retriever.retrieve("mlflow", 2)
      assert.strictEqual(docs.length, 2)
      assert.strictEqual(yield* retriever.count, 3)
      assert.strictEqual(retriever.name, "vector store")
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.spans.length, 1)
      const span = trace.spans[0]
      assert.strictEqual(span.name, "Retriever.retrieve")
      assert.strictEqual(span.attributes["mlflow.spanType"], "RETRIEVER")
      assert.strictEqual(span.attributes["mlflow.spanFunctionName"], "retrieve")
      assert.deepStrictEqual(span.attributes["mlflow.spanInputs"], { query: "mlflow", k: 2 })
      assert.deepStrictEqual(span.attributes["mlflow.spanOutputs"], [
        { page_content: "mlflow #0", metadata: { score: 1 }, id: "doc-0" },
        { page_content: "mlflow #1", metadata: { score: 0.9 }, id: "doc-1" }
      ])
    }).pipe(Effect.provide(Layer.merge(Traced, TestTracing.layer()))))

  it.effect("traces a stream method for the stream's lifetime, its items as outputs", () =>
    Effect.gen(function*() {
      const retriever = yield* Retriever
      const items = yield* Stream.runCollect(retriever.stream("q"))
      assert.strictEqual(items.length, 3)
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.strictEqual(span.status.code, "OK")
      assert.deepStrictEqual(span.attributes["mlflow.spanInputs"], { input: "q" })
      assert.deepStrictEqual(span.attributes["mlflow.spanOutputs"], [
        { page_content: "q a", metadata: {}, id: null },
        { page_content: "q b", metadata: {}, id: null },
        { page_content: "q c", metadata: {}, id: null }
      ])
    }).pipe(Effect.provide(Layer.merge(Traced, TestTracing.layer()))))

  it.live("ends a stream method's span as Interrupted when its consumer is interrupted", () =>
    Effect.gen(function*() {
      const slow = TracedService.make({ watch: () => Stream.concat(Stream.make(1), Stream.never) }, { watch: "TOOL" })
      const fiber = yield* Effect.fork(Stream.runDrain(slow.watch()))
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.spans[0].name, "Service.watch")
      assert.deepStrictEqual(trace.spans[0].status, { code: "ERROR", message: "Interrupted" })
      assert.deepStrictEqual(trace.spans[0].attributes["mlflow.spanOutputs"], [1])
    }).pipe(Effect.provide(TestTracing.layer())))

  it.effect("a throwing inputs or outputs mapper costs the attribute, never the call", () =>
    Effect.gen(function*() {
      const service = TracedService.make({ get: (n: number) => Effect.succeed(n * 2) }, {
        get: {
          inputs: () => {
            throw new Error("bad mapper")
          },
          outputs: () => {
            throw new Error("bad mapper")
          }
        }
      })
      assert.strictEqual(yield* service.get(21), 42)
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.spans[0].status.code, "OK")
      assert.isFalse("mlflow.spanInputs" in trace.spans[0].attributes)
      assert.isFalse("mlflow.spanOutputs" in trace.spans[0].attributes)
    }).pipe(Effect.provide(TestTracing.layer())))

  it("maps common document shapes", () => {
    assert.deepStrictEqual(
      TracedService.toDocuments([
        "plain",
        { pageContent: "langchain", metadata: { source: "a.md" }, id: "1" },
        { page_content: "mlflow", metadata: {} },
        { content: { nested: true }, url: "https://x" }
      ]),
      [
        { page_content: "plain", metadata: {}, id: null },
        { page_content: "langchain", metadata: { source: "a.md" }, id: "1" },
        { page_content: "mlflow", metadata: {}, id: null },
        { page_content: "{\"nested\":true}", metadata: { url: "https://x" }, id: null }
      ]
    )
    assert.strictEqual(TracedService.toDocuments("not a list"), "not a list")
  })
})
