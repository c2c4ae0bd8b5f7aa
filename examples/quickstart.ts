/**
 * The RAG application of `examples/rag.ts`, traced end to end. Run with `npm run demo`.
 *
 * - without MLFLOW_TRACKING_URI, traces go to ./mlflow-traces (one MLflow Trace JSON file each);
 * - with MLFLOW_TRACKING_URI=http://127.0.0.1:5000 (see `npm run mlflow:server`), they go to MLflow;
 * - the model is a deterministic echo model, or OpenAI's when OPENAI_API_KEY is set.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Mlflow, MlflowClient, MlflowTracingLive } from "../src/index.js"
import * as LocalStore from "../src/LocalStore.js"
import { answer, TracedEchoModelLive, TracedOpenAiModelLive, TracedRetrieverLive } from "./rag.js"

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
      console.log(`  draw it with its waterfall: npx effect-mlflow view ${traceId}`)
      console.log(
        "  send the local store to a server: MLFLOW_TRACKING_URI=http://127.0.0.1:5000 npx effect-mlflow push"
      )
      return
    }
    const client = yield* MlflowClient.MlflowClient
    const info = yield* client.getTraceInfo(traceId)
    const experimentId = info.experimentId
    console.log(`\nTrace ${traceId} (${info.state}) stored in MLflow experiment ${experimentId}`)
    console.log(`  token usage: ${info.metadata["mlflow.trace.tokenUsage"]}`)
    console.log(`  open it in the UI: ${client.trackingUri}/#/experiments/${experimentId}/traces`)
  })

const main = Effect.gen(function*() {
  const question = "How does MLflow tracing record spans?"
  const { reply, traceId } = yield* Effect.gen(function*() {
    const reply = yield* answer(question, "demo-session")
    return { reply, traceId: yield* Mlflow.lastTraceId }
  }).pipe(
    Effect.provide(
      Layer.merge(TracedRetrieverLive, process.env.OPENAI_API_KEY ? TracedOpenAiModelLive : TracedEchoModelLive)
    ),
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
