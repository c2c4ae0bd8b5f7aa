import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import { mlflowUrl, pyAttributes, python, pythonGetTraces, runTraced, uniqueName } from "./helpers.js"

const question = "What is MLflow?"
const docs = [{ page_content: "MLflow is an open source platform.", metadata: { doc_uri: "doc-1" } }]
const messages = [{ role: "user", content: question }]
const completion = { choices: [{ message: { role: "assistant", content: "A platform for ML." } }] }
const usage = { input_tokens: 12, output_tokens: 3, total_tokens: 15 }

const pythonProgram = (experimentName: string) => `
import json, mlflow
mlflow.set_experiment(${JSON.stringify(experimentName)})
with mlflow.start_span("answer", span_type="CHAIN") as root:
    root.set_inputs({"question": ${JSON.stringify(question)}})
    with mlflow.start_span("retrieve", span_type="RETRIEVER") as r:
        r.set_inputs({"query": ${JSON.stringify(question)}})
        r.set_outputs(json.loads(${JSON.stringify(JSON.stringify(docs))}))
    with mlflow.start_span("generate", span_type="CHAT_MODEL") as g:
        g.set_inputs({"messages": json.loads(${JSON.stringify(JSON.stringify(messages))})})
        g.set_attribute("mlflow.chat.tokenUsage", json.loads(${JSON.stringify(JSON.stringify(usage))}))
        g.set_outputs(json.loads(${JSON.stringify(JSON.stringify(completion))}))
    root.set_outputs("A platform for ML.")
mlflow.flush_trace_async_logging()
print(json.dumps(mlflow.get_trace(mlflow.get_last_active_trace_id()).to_dict()))
`

const effectProgram = Effect.gen(function*() {
  yield* Effect.succeed(docs).pipe(Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query: question } }))
  yield* Effect.gen(function*() {
    yield* Mlflow.setAttribute("mlflow.chat.tokenUsage", usage)
    return completion
  }).pipe(Mlflow.span("generate", { spanType: "CHAT_MODEL", inputs: { messages } }))
  return "A platform for ML."
}).pipe(Mlflow.span("answer", { spanType: "CHAIN", inputs: { question } }))

// fields that differ by construction between two runs: ids, times, sizes, the script that ran
const VARYING_METADATA = new Set(["mlflow.trace.sizeStats", "mlflow.trace.sizeBytes", "mlflow.source.name"])
const VARYING_TAGS = new Set(["mlflow.artifactLocation"])

const comparableInfo = (info: any) => ({
  state: info.state,
  request_preview: info.request_preview,
  response_preview: info.response_preview,
  client_request_id: info.client_request_id,
  metadata: Object.fromEntries(Object.entries(info.trace_metadata).filter(([key]) => !VARYING_METADATA.has(key))),
  metadataKeys: Object.keys(info.trace_metadata).sort(),
  tags: Object.fromEntries(Object.entries(info.tags).filter(([key]) => !VARYING_TAGS.has(key))),
  tagKeys: Object.keys(info.tags).sort()
})

const comparableSpans = (trace: any) => {
  const nameById = new Map(trace.data.spans.map((s: any) => [s.span_id, s.name]))
  return Object.fromEntries(trace.data.spans.map((span: any) => {
    const { "mlflow.traceRequestId": requestId, ...attributes } = pyAttributes(span)
    expect(requestId).toBe(trace.info.trace_id)
    return [span.name, {
      parent: span.parent_span_id ? nameById.get(span.parent_span_id) : null,
      kind: span.kind,
      status: span.status,
      attributes,
      events: span.events.length
    }]
  }))
}

describe("parity with MLflow's Python SDK", () => {
  it.live("gives the same trace info and span attributes as mlflow.start_span", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const experimentName = uniqueName("parity")
      const reference = yield* python(pythonProgram(experimentName), { MLFLOW_TRACKING_URI: url })
      const { traceId } = yield* runTraced(effectProgram, { trackingUri: url, experimentName })
      const [ours] = yield* pythonGetTraces(url, [traceId])

      expect(comparableInfo(ours.info)).toEqual(comparableInfo(reference.info))
      expect(comparableSpans(ours)).toEqual(comparableSpans(reference))
      expect(ours.info.trace_location).toEqual(reference.info.trace_location)
    }))
})
