/**
 * Testing an application that is traced by layers: the test swaps the production model for a fake
 * one (still traced by the same traced layer), swaps `MlflowTracingLive` for the in-memory
 * `TestTracing.layer()`, and asserts on both the answer and the traces. No network, no MLflow.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as TracedLanguageModel from "../src/providers/TracedLanguageModel.js"
import * as TestTracing from "../src/testing/TestTracing.js"
import { answer, EchoModelLive, TracedRetrieverLive } from "./rag.js"

/** A fake model answering a fixed text, with usage, like a provider would. */
const FixedModel = (text: string) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () =>
        Effect.succeed([
          { type: "text", text },
          { type: "finish", reason: "stop", usage: { inputTokens: 10, outputTokens: 3, totalTokens: 13 } }
        ]),
      streamText: () => Stream.dieMessage("not used")
    })
  )

const TestApp = (model: Layer.Layer<LanguageModel.LanguageModel>) =>
  Layer.mergeAll(
    TracedRetrieverLive,
    TracedLanguageModel.layer({ provider: "test" }).pipe(Layer.provide(model)),
    TestTracing.layer()
  )

describe("testing with traced layers", () => {
  layer(TestApp(FixedModel("Spans nest under one root.")))((it) => {
    it.effect("the answer comes from the swapped-in model, and the trace has the expected shape", () =>
      Effect.gen(function*() {
        const reply = yield* answer("How do spans nest?", "session-42")
        assert.strictEqual(reply, "Spans nest under one root.")

        const [trace] = yield* TestTracing.traces
        assert.deepStrictEqual(
          trace.spans.map((span) => [span.name, span.attributes["mlflow.spanType"]]),
          [["answer", "CHAIN"], ["rag/Retriever.search", "RETRIEVER"], ["LanguageModel.generateText", "CHAT_MODEL"]]
        )
        const retrieve = TestTracing.findSpan(trace, "rag/Retriever.search")!
        assert.deepStrictEqual(retrieve.attributes["mlflow.spanOutputs"], [{
          page_content: "Spans nest: a trace is a tree of spans under one root.",
          metadata: { source: "spans.md" },
          id: "3"
        }])
        const [chat] = TestTracing.spansOfType(trace, "CHAT_MODEL")
        assert.deepStrictEqual(TestTracing.childrenOf(trace, trace.spans[0]).map((span) => span.name), [
          "rag/Retriever.search",
          "LanguageModel.generateText"
        ])
        const inputs = chat.attributes["mlflow.spanInputs"] as any
        assert.deepStrictEqual(inputs.messages[1], { role: "user", content: "How do spans nest?" })
        assert.include(inputs.messages[0].content, "a tree of spans")
        assert.strictEqual(trace.info.metadata["mlflow.trace.session"], "session-42")
        assert.strictEqual(trace.info.tags.app, "rag")
        assert.deepStrictEqual(JSON.parse(trace.info.metadata["mlflow.trace.tokenUsage"]), {
          input_tokens: 10,
          output_tokens: 3,
          total_tokens: 13
        })
      }))
  })

  it.effect("the same application against another fake model: only the layer changes", () =>
    Effect.gen(function*() {
      const reply = yield* answer("What does MLflow Tracing record?", "session-7")
      assert.strictEqual(reply, "MLflow Tracing records the inputs, outputs and timing of each step. (tracing.md)")
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.info.state, "OK")
      assert.strictEqual(trace.info.responsePreview, JSON.stringify(reply))
    }).pipe(Effect.provide(TestApp(EchoModelLive))))
})
