import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as TracedOpenAi from "../../src/providers/TracedOpenAi.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import { type FakeVendor, startFakeVendors } from "../support/fakeVendors.js"

let vendor: FakeVendor
beforeAll(async () => {
  vendor = await startFakeVendors()
})
afterAll(() => vendor.close())

const embeddings = (config?: TracedOpenAi.EmbeddingOptions["config"]) =>
  Layer.provideMerge(
    TracedOpenAi.embeddingLayer({ model: "text-embedding-3-small", config }).pipe(
      Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-test"), apiUrl: `${vendor.url}/v1` })),
      Layer.provide(FetchHttpClient.layer)
    ),
    TestTracing.layer()
  )

describe("TracedOpenAi.embeddingLayer", () => {
  it.live("records EMBEDDING spans with the texts and a summary of the vectors", () =>
    Effect.gen(function*() {
      vendor.script()
      const model = yield* EmbeddingModel.EmbeddingModel
      const vectors = yield* model.embedMany(["alpha", "beta gamma"])
      assert.deepStrictEqual(vectors, [[0.5, 0.5, -0.25], [1, 0.5, -0.25]])
      const traces = yield* TestTracing.traces
      assert.strictEqual(traces.length, 1)
      const [span] = traces[0].spans
      assert.strictEqual(span.name, "OpenAiEmbeddingModel.embedMany")
      assert.strictEqual(span.attributes["mlflow.spanType"], "EMBEDDING")
      assert.deepStrictEqual(span.attributes["mlflow.spanInputs"], {
        model: "text-embedding-3-small",
        input: ["alpha", "beta gamma"]
      })
      assert.deepStrictEqual(span.attributes["mlflow.spanOutputs"], { count: 2, dimensions: 3 })
      assert.isUndefined(vendor.requests[0].headers.traceparent)
    }).pipe(Effect.provide(embeddings())))

  it.live("a data loader gathers calls into one request; its own fiber makes no traces", () =>
    Effect.gen(function*() {
      vendor.script()
      const model = yield* EmbeddingModel.EmbeddingModel
      const vectors = yield* Effect.forEach(["a", "bb", "ccc"], (text) => model.embed(text), {
        concurrency: "unbounded"
      }).pipe(Effect.withSpan("index"))
      assert.deepStrictEqual(vectors.map((v) => v[0]), [0.1, 0.2, 0.3])
      assert.strictEqual(vendor.requests.length, 1)
      const traces = yield* TestTracing.traces
      assert.deepStrictEqual(traces.map((t) => t.spans.map((s) => s.name)), [[
        "index",
        "OpenAiEmbeddingModel.embed",
        "OpenAiEmbeddingModel.embed",
        "OpenAiEmbeddingModel.embed"
      ]])
    }).pipe(Effect.provide(embeddings({ window: "20 millis" }))))
})
