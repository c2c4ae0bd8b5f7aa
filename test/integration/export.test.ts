import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import {
  base64ToHex,
  experimentIdByName,
  mlflowUrl,
  pyAttributes,
  pythonGetTraces,
  restAttributes,
  restGetTrace,
  runTraced,
  uniqueName
} from "./helpers.js"

class RetrieverDown extends Error {
  readonly _tag = "RetrieverDown"
}

const docs = [{ page_content: "MLflow is an open source platform.", metadata: { doc_uri: "https://mlflow.org" } }]

/** A small RAG request: retrieval (one failing backup retriever), a chat model call, post-processing. */
const rag = (question: string) =>
  Effect.gen(function*() {
    yield* Mlflow.updateCurrentTrace({
      tags: { env: "test", version: "1.0" },
      metadata: { deployment: "blue" },
      sessionId: "session-1",
      user: "user-7",
      clientRequestId: "req-42"
    })
    const [found] = yield* Effect.all([
      Effect.succeed(docs).pipe(Mlflow.span("retrieve", { spanType: "RETRIEVER", inputs: { query: question } })),
      Effect.fail(new RetrieverDown("backup index unavailable")).pipe(
        Mlflow.span("backup_retrieve", { spanType: "RETRIEVER", inputs: { query: question } }),
        Effect.orElseSucceed(() => [])
      )
    ], { concurrency: 2 })
    const messages = [
      { role: "system", content: "Answer from the context." },
      { role: "user", content: question }
    ]
    const completion = yield* Effect.gen(function*() {
      yield* Mlflow.setTokenUsage({ input_tokens: 120, output_tokens: 30 })
      yield* Effect.log("model called")
      return { choices: [{ message: { role: "assistant", content: "MLflow is an open source platform." } }] }
    }).pipe(Mlflow.span("generate", { spanType: "CHAT_MODEL", inputs: { messages, context: found } }))
    return yield* Effect.succeed(completion.choices[0].message.content.toUpperCase()).pipe(
      Mlflow.span("postprocess", { spanType: "PARSER", inputs: { text: completion.choices[0].message.content } })
    )
  }).pipe(Mlflow.span("answer", { spanType: "CHAIN", inputs: { question } }))

describe("export to a real MLflow server", () => {
  it.live("stores a trace that MLflow's REST API and Python client read back exactly", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const experimentName = uniqueName("export")
      const { result, traceId } = yield* runTraced(rag("What is MLflow?"), { trackingUri: url, experimentName })
      expect(result).toBe("MLFLOW IS AN OPEN SOURCE PLATFORM.")
      expect(traceId).toMatch(/^tr-[0-9a-f]{32}$/)

      const rest = yield* restGetTrace(url, traceId)
      const [py] = yield* pythonGetTraces(url, [traceId])

      for (const info of [rest.trace_info, py.info]) {
        expect(info.trace_id).toBe(traceId)
        expect(info.state).toBe("OK")
        expect(info.client_request_id).toBe("req-42")
        expect(info.request_preview).toBe("{\"question\": \"What is MLflow?\"}")
        expect(info.response_preview).toBe("\"MLFLOW IS AN OPEN SOURCE PLATFORM.\"")
        expect(info.tags).toMatchObject({
          "mlflow.traceName": "answer",
          "mlflow.trace.spansLocation": "TRACKING_STORE",
          env: "test",
          version: "1.0"
        })
        expect(info.trace_metadata).toMatchObject({
          "mlflow.trace_schema.version": "3",
          "mlflow.traceInputs": "{\"question\": \"What is MLflow?\"}",
          "mlflow.traceOutputs": "\"MLFLOW IS AN OPEN SOURCE PLATFORM.\"",
          "mlflow.trace.session": "session-1",
          "mlflow.trace.user": "user-7",
          "mlflow.source.type": "LOCAL",
          deployment: "blue"
        })
        expect(JSON.parse(info.trace_metadata["mlflow.trace.tokenUsage"])).toEqual({
          input_tokens: 120,
          output_tokens: 30,
          total_tokens: 150
        })
        expect(info.trace_metadata["mlflow.source.name"]).toBeTruthy()
      }

      const expected: Record<string, { parent: string | null; type: string; inputs: unknown; outputs: unknown }> = {
        answer: {
          parent: null,
          type: "CHAIN",
          inputs: { question: "What is MLflow?" },
          outputs: "MLFLOW IS AN OPEN SOURCE PLATFORM."
        },
        retrieve: { parent: "answer", type: "RETRIEVER", inputs: { query: "What is MLflow?" }, outputs: docs },
        backup_retrieve: {
          parent: "answer",
          type: "RETRIEVER",
          inputs: { query: "What is MLflow?" },
          outputs: undefined
        },
        generate: {
          parent: "answer",
          type: "CHAT_MODEL",
          inputs: {
            messages: [{ role: "system", content: "Answer from the context." }, {
              role: "user",
              content: "What is MLflow?"
            }],
            context: docs
          },
          outputs: { choices: [{ message: { role: "assistant", content: "MLflow is an open source platform." } }] }
        },
        postprocess: {
          parent: "generate",
          type: "PARSER",
          inputs: { text: "MLflow is an open source platform." },
          outputs: "MLFLOW IS AN OPEN SOURCE PLATFORM."
        }
      }
      expected.postprocess.parent = "answer"

      // REST: spans from the tracking store, OTLP attribute values decoded
      const restById = new Map(rest.spans.map((s: any) => [base64ToHex(s.span_id), s.name]))
      expect(rest.spans.map((s: any) => s.name).sort()).toEqual(Object.keys(expected).sort())
      for (const span of rest.spans) {
        const want = expected[span.name]
        const attributes = restAttributes(span)
        expect(span.parent_span_id ? restById.get(base64ToHex(span.parent_span_id)) : null).toBe(want.parent)
        expect(attributes["mlflow.spanType"]).toBe(want.type)
        expect(attributes["mlflow.spanInputs"]).toEqual(want.inputs)
        expect(attributes["mlflow.spanOutputs"]).toEqual(want.outputs)
      }

      // Python client
      const pyById = new Map(py.data.spans.map((s: any) => [s.span_id, s.name]))
      expect(py.data.spans.map((s: any) => s.name).sort()).toEqual(Object.keys(expected).sort())
      for (const span of py.data.spans) {
        const want = expected[span.name]
        const attributes = pyAttributes(span)
        expect(span.parent_span_id ? pyById.get(span.parent_span_id) : null).toBe(want.parent)
        expect(attributes["mlflow.spanType"]).toBe(want.type)
        expect(attributes["mlflow.spanInputs"]).toEqual(want.inputs)
        expect(attributes["mlflow.spanOutputs"]).toEqual(want.outputs)
        expect(attributes["mlflow.traceRequestId"]).toBe(traceId)
        expect(span.status.code).toBe(span.name === "backup_retrieve" ? "STATUS_CODE_ERROR" : "STATUS_CODE_OK")
      }
      const failed = py.data.spans.find((s: any) => s.name === "backup_retrieve")
      expect(failed.status.message).toBe("RetrieverDown: backup index unavailable")
      const exception = failed.events.find((e: any) => e.name === "exception")
      expect(exception.attributes["exception.type"]).toBe("RetrieverDown")
      expect(exception.attributes["exception.message"]).toBe("backup index unavailable")
      expect(exception.attributes["exception.stacktrace"]).toContain("backup index unavailable")
      const generate = py.data.spans.find((s: any) => s.name === "generate")
      expect(generate.events.map((e: any) => e.name)).toContain("model called")
      expect(JSON.parse(generate.attributes["mlflow.chat.tokenUsage"])).toEqual({
        input_tokens: 120,
        output_tokens: 30,
        total_tokens: 150
      })
    }))

  it.live("uses chat-aware previews for chat payloads", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const long = "x".repeat(1500)
      const { traceId } = yield* runTraced(
        Effect.succeed({ choices: [{ message: { role: "assistant", content: "Hi there!" } }] }).pipe(
          Mlflow.span("chat", {
            spanType: "CHAT_MODEL",
            inputs: { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: long }] }
          })
        ),
        { trackingUri: url, experimentName: uniqueName("previews") }
      )
      const [py] = yield* pythonGetTraces(url, [traceId])
      expect(py.info.request_preview).toBe("x".repeat(997) + "...")
      expect(py.info.response_preview).toBe("Hi there!")
      expect(py.info.trace_metadata["mlflow.traceInputs"]).toHaveLength(250)
      expect(py.info.trace_metadata["mlflow.traceInputs"].endsWith("...")).toBe(true)
    }))

  it.live("creates a missing experiment by name, once, even when two processes race", () =>
    Effect.gen(function*() {
      const url = mlflowUrl()
      const name = uniqueName("race")
      // two layers at once, each resolving the missing experiment by name
      const results = yield* Effect.all([
        runTraced(Effect.void.pipe(Effect.withSpan("one")), { trackingUri: url, experimentName: name }),
        runTraced(Effect.void.pipe(Effect.withSpan("two")), { trackingUri: url, experimentName: name })
      ], { concurrency: "unbounded" })
      const experimentId = yield* experimentIdByName(url, name)
      const infos = yield* Effect.forEach(results, ({ traceId }) =>
        Effect.map(restGetTrace(url, traceId), (trace) => trace.trace_info))
      for (const info of infos) {
        expect(info.trace_location.mlflow_experiment.experiment_id).toBe(experimentId)
      }
    }))
})
