/**
 * A small RAG application written against typed services: a `Retriever` of our own and
 * `@effect/ai`'s `LanguageModel`. Tracing is added by layers only: the traced retriever and the
 * traced model replace the plain ones, and the application code does not change.
 *
 * `examples/quickstart.ts` runs it; `examples/testing-with-traced-layers.test.ts` tests it.
 */
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Config, Context, Effect, Layer, Stream } from "effect"
import { Mlflow, TracedService } from "../src/index.js"
import * as TracedLanguageModel from "../src/providers/TracedLanguageModel.js"
import * as TracedOpenAi from "../src/providers/TracedOpenAi.js"

export interface Document {
  readonly id: string
  readonly text: string
  readonly source: string
}

export class Retriever extends Context.Tag("rag/Retriever")<Retriever, {
  readonly search: (query: string) => Effect.Effect<ReadonlyArray<Document>>
}>() {}

const corpus: ReadonlyArray<Document> = [
  { id: "1", text: "MLflow Tracing records the inputs, outputs and timing of each step.", source: "tracing.md" },
  { id: "2", text: "Effect is a TypeScript library for typed, composable programs.", source: "effect.md" },
  { id: "3", text: "Spans nest: a trace is a tree of spans under one root.", source: "spans.md" }
]

/** A keyword search over an in-memory corpus. */
export const RetrieverLive = Layer.succeed(Retriever, {
  search: (query) =>
    Effect.sync(() => {
      const words = query.toLowerCase().split(/\W+/).filter((word) => word.length > 3)
      return corpus.filter((doc) => words.some((word) => doc.text.toLowerCase().includes(word)))
    })
})

/** The retriever with `search` as a RETRIEVER span; its documents appear in MLflow's document view. */
export const TracedRetrieverLive = TracedService.layer(Retriever, {
  search: { spanType: "RETRIEVER", inputs: (query) => ({ query }) }
}).pipe(Layer.provide(RetrieverLive))

/** Answers a question from the retrieved documents; a CHAIN span, the root of each trace. */
export const answer = Effect.fn("answer")(function*(question: string, sessionId: string) {
  yield* Mlflow.setSpanType("CHAIN")
  yield* Mlflow.setInputs({ question })
  yield* Mlflow.updateCurrentTrace({ tags: { app: "rag" }, sessionId })
  const retriever = yield* Retriever
  const docs = yield* retriever.search(question)
  const context = docs.map((doc) => `- ${doc.text} (${doc.source})`).join("\n")
  const response = yield* LanguageModel.generateText({
    prompt: Prompt.make([
      { role: "system", content: `Answer from this context only:\n${context}` },
      { role: "user", content: question }
    ])
  })
  yield* Mlflow.setOutputs(response.text)
  return response.text
})

/**
 * A deterministic model for the demo and for tests: it answers with the first context line. It is
 * a real `LanguageModel` (built with `LanguageModel.make`), so everything around it is unchanged.
 */
export const EchoModelLive = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: ({ prompt }) =>
      Effect.sync(() => {
        const system = prompt.content.find((message) => message.role === "system")
        const line = system?.role === "system" ? system.content.split("\n")[1] ?? "" : ""
        const reply = line === "" ? "I don't know." : line.replace(/^- /, "")
        return [
          { type: "response-metadata", id: "echo-1", modelId: "echo-1" },
          { type: "text", text: reply },
          {
            type: "finish",
            reason: "stop",
            usage: { inputTokens: 42, outputTokens: reply.split(" ").length, totalTokens: 42 + reply.split(" ").length }
          }
        ]
      }),
    streamText: () => Stream.dieMessage("the echo model does not stream")
  })
)

/** The echo model, traced like a real provider. */
export const TracedEchoModelLive = EchoModelLive.pipe(TracedLanguageModel.fromLayer({ provider: "echo" }))

/** OpenAI's model, traced; reads `OPENAI_API_KEY` (and `OPENAI_BASE_URL` if set). */
export const TracedOpenAiModelLive = TracedOpenAi.layer({ model: "gpt-4o-mini", config: { temperature: 0 } }).pipe(
  Layer.provide(OpenAiClient.layerConfig({
    apiKey: Config.redacted("OPENAI_API_KEY"),
    apiUrl: Config.string("OPENAI_BASE_URL").pipe(Config.withDefault("https://api.openai.com/v1"))
  })),
  Layer.provide(FetchHttpClient.layer)
)
