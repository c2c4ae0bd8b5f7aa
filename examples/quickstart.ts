/**
 * A small RAG pipeline traced end to end: a retriever service, a deterministic fake chat model
 * service, and post-processing. Run with `npm run demo`.
 *
 * - without MLFLOW_TRACKING_URI, traces go to ./mlflow-traces (one MLflow Trace JSON file each);
 * - with MLFLOW_TRACKING_URI=http://127.0.0.1:5000 (see `npm run mlflow:server`), they go to MLflow.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Context, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { LocalStore, Mlflow, MlflowClient, MlflowTracingLive } from "../src/index.js"

interface Document {
  readonly page_content: string
  readonly metadata: { readonly doc_uri: string }
}

class Retriever extends Context.Tag("demo/Retriever")<Retriever, {
  readonly search: (query: string) => Effect.Effect<ReadonlyArray<Document>>
}>() {}

const corpus: ReadonlyArray<Document> = [
  {
    page_content: "MLflow Tracing records the inputs, outputs and timing of each step.",
    metadata: { doc_uri: "tracing.md" }
  },
  {
    page_content: "Effect is a TypeScript library for typed, composable programs.",
    metadata: { doc_uri: "effect.md" }
  },
  { page_content: "Spans nest: a trace is a tree of spans under one root.", metadata: { doc_uri: "spans.md" } }
]

const RetrieverLive = Layer.succeed(Retriever, {
  search: (query) =>
    Effect.sync(() => {
      const words = query.toLowerCase().split(/\W+/).filter((word) => word.length > 3)
      return corpus.filter((doc) => words.some((word) => doc.page_content.toLowerCase().includes(word)))
    }).pipe(Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query } }))
})

interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

class ChatModel extends Context.Tag("demo/ChatModel")<ChatModel, {
  readonly complete: (messages: ReadonlyArray<ChatMessage>) => Effect.Effect<string>
}>() {}

/** A deterministic stand-in for an LLM: answers with the first context line. */
const FakeChatModelLive = Layer.succeed(ChatModel, {
  complete: (messages) =>
    Effect.gen(function*() {
      const context = messages.find((message) => message.role === "system")?.content ?? ""
      const answer = context.split("\n")[1] ?? "I don't know."
      const inputTokens = messages.reduce((n, message) => n + message.content.split(/\s+/).length, 0)
      yield* Mlflow.setAttributes({ "mlflow.llm.model": "fake-chat-1", "mlflow.message.format": "openai" })
      yield* Mlflow.setTokenUsage({ input_tokens: inputTokens, output_tokens: answer.split(/\s+/).length })
      return { choices: [{ message: { role: "assistant", content: answer } }] }
    }).pipe(
      Mlflow.span("chat_model", { spanType: "CHAT_MODEL", inputs: { model: "fake-chat-1", messages } }),
      Effect.map((completion) => completion.choices[0].message.content)
    )
})

const answer = Effect.fn("answer")(function*(question: string) {
  yield* Mlflow.setSpanType("CHAIN")
  yield* Mlflow.setInputs({ question })
  yield* Mlflow.updateCurrentTrace({ tags: { app: "quickstart" }, sessionId: "demo-session", user: "demo-user" })
  const docs = yield* Effect.flatMap(Retriever, (retriever) => retriever.search(question))
  const context = ["Context:", ...docs.map((doc) => doc.page_content)].join("\n")
  const reply = yield* Effect.flatMap(
    ChatModel,
    (model) => model.complete([{ role: "system", content: context }, { role: "user", content: question }])
  )
  const final = yield* Effect.succeed(`${reply} (${docs.length} source(s))`).pipe(
    Mlflow.span("postprocess", { spanType: "PARSER", inputs: { reply } })
  )
  yield* Mlflow.setOutputs(final)
  return final
})

const printTree = (
  spans: ReadonlyArray<{ id: string; parent: string | null; name: string; type: string; ms: number }>
) => {
  const walk = (parent: string | null, depth: number) => {
    for (const span of spans.filter((s) => s.parent === parent)) {
      console.log(`  ${"  ".repeat(depth)}${span.name} [${span.type}] ${span.ms.toFixed(2)} ms`)
      walk(span.id, depth + 1)
    }
  }
  walk(null, 0)
}

/** Reads back the trace that was just written and prints a summary of it. */
const summarize = (traceId: string) =>
  Effect.gen(function*() {
    const uri = process.env.MLFLOW_TRACKING_URI
    if (uri === undefined || uri === "" || uri.startsWith("file:")) {
      const directory = uri?.replace(/^file:(\/\/)?/, "") || process.env.EFFECT_MLFLOW_LOCAL_DIR ||
        LocalStore.defaultDirectory
      const file = path.resolve(directory, `${traceId}.json`)
      const trace = JSON.parse(fs.readFileSync(file, "utf8"))
      console.log(`\nTrace ${traceId} (${trace.info.state}, ${trace.info.execution_duration_ms} ms) written to ${file}`)
      printTree(trace.data.spans.map((span: any) => ({
        id: span.span_id,
        parent: span.parent_span_id,
        name: span.name,
        type: JSON.parse(span.attributes["mlflow.spanType"]),
        ms: (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
      })))
      console.log(`  token usage: ${trace.info.trace_metadata["mlflow.trace.tokenUsage"]}`)
      return
    }
    const client = yield* MlflowClient.MlflowClient
    const info: any = (yield* client.getTraceInfo(traceId)).trace
    const experimentId = info.trace_info.trace_location.mlflow_experiment.experiment_id
    console.log(`\nTrace ${traceId} (${info.trace_info.state}) stored in MLflow experiment ${experimentId}`)
    console.log(`  token usage: ${info.trace_info.trace_metadata["mlflow.trace.tokenUsage"]}`)
    console.log(`  open it in the UI: ${client.trackingUri}/#/experiments/${experimentId}/traces`)
  })

const main = Effect.gen(function*() {
  const question = "How does MLflow tracing record spans?"
  const { reply, traceId } = yield* Effect.gen(function*() {
    const reply = yield* answer(question)
    return { reply, traceId: yield* Mlflow.lastTraceId }
  }).pipe(
    Effect.provide(Layer.merge(RetrieverLive, FakeChatModelLive)),
    Effect.provide(MlflowTracingLive) // released here, which flushes every finished trace
  )
  console.log(`Q: ${question}\nA: ${reply}`)
  if (Option.isSome(traceId)) yield* summarize(traceId.value)
})

const trackingUri = process.env.MLFLOW_TRACKING_URI ?? ""
main.pipe(
  Effect.provide(
    MlflowClient.layer({ trackingUri: trackingUri.startsWith("http") ? trackingUri : "http://127.0.0.1" })
  ),
  Effect.provide(FetchHttpClient.layer),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
