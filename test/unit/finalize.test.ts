import { assert, describe, it } from "@effect/vitest"
import { dumps } from "../../src/internal/format/pythonJson.js"
import { spanToJson } from "../../src/internal/format/traceJson.js"
import { aggregateTokenUsage } from "../../src/internal/prepare/derived.js"
import { finalize } from "../../src/internal/prepare/finalize.js"
import { type CompletedTrace, emptyUpdates } from "../../src/internal/tracing/assembler.js"
import type { SpanData } from "../../src/Trace.js"
import { spanData } from "../support/spanData.js"

const span = spanData

const completed = (spans: Array<SpanData>): CompletedTrace => ({
  otelTraceId: spans[0].traceId,
  rootSpanId: spans[0].spanId,
  spans,
  late: false,
  record: undefined,
  updates: emptyUpdates()
})

const previews = (inputs: unknown, outputs: unknown) => {
  const { info } = finalize(
    completed([span("1", null, { "mlflow.spanInputs": inputs, "mlflow.spanOutputs": outputs })]),
    {},
    undefined
  )
  return [info.requestPreview, info.responsePreview]
}

describe("trace finalization", () => {
  it("computes times, state and name", () => {
    const { info } = finalize(completed([span("1", null)]), { "mlflow.user": "me" }, "3")
    assert.strictEqual(info.traceId, "tr-0af7651916cd43dd8448eb211c80319c")
    assert.strictEqual(info.requestTimeMs, 1_700_000_000_000)
    assert.strictEqual(info.executionDurationMs, 1500)
    assert.strictEqual(info.state, "OK")
    assert.strictEqual(info.tags["mlflow.traceName"], "span-1")
    assert.strictEqual(info.metadata["mlflow.user"], "me")
    assert.strictEqual(info.metadata["mlflow.trace_schema.version"], "3")
    const stats = JSON.parse(info.metadata["mlflow.trace.sizeStats"])
    assert.strictEqual(stats.num_spans, 1)
    assert.strictEqual(String(stats.total_size_bytes), info.metadata["mlflow.trace.sizeBytes"])
  })

  it("measures the size stats on first read, for every reader alike", () => {
    let reads = 0
    const watched = {}
    Object.defineProperty(watched, "text", {
      enumerable: true,
      get: () => {
        reads++
        return "x".repeat(100)
      }
    })
    const spans = [span("1", null), span("2", "1", { "mlflow.spanOutputs": watched as never })]
    const { info } = finalize(completed(spans), {}, "3")
    const keys = Object.keys(info.metadata)
    assert.include(keys, "mlflow.trace.sizeStats")
    assert.include(keys, "mlflow.trace.sizeBytes")
    assert.strictEqual(reads, 0)
    const bytes = Number(info.metadata["mlflow.trace.sizeBytes"])
    assert.strictEqual(reads, 1)
    const copy = { ...info.metadata }
    const written = JSON.parse(JSON.stringify(info.metadata))
    assert.strictEqual(reads, 1)
    assert.strictEqual(copy["mlflow.trace.sizeBytes"], String(bytes))
    assert.deepStrictEqual(written["mlflow.trace.sizeStats"], copy["mlflow.trace.sizeStats"])
    const stats = JSON.parse(copy["mlflow.trace.sizeStats"])
    assert.strictEqual(stats.num_spans, 2)
    assert.strictEqual(stats.total_size_bytes, bytes)
    // the spans' JSON as the local store and MLflow's size stats count it
    const spanSizes = spans.map((s) => Buffer.byteLength(spanToJson(s), "utf8")).sort((a, b) => a - b)
    assert.strictEqual(stats.max, spanSizes[1])
  })

  it("extracts chat-aware previews like MLflow", () => {
    const messages = [{ role: "system", content: "s" }, { role: "user", content: "question?" }, {
      role: "assistant",
      content: "a"
    }]
    assert.deepStrictEqual(previews({ messages }, { choices: [{ message: { role: "assistant", content: "hi" } }] }), [
      "question?",
      "hi"
    ])
    assert.deepStrictEqual(
      previews(
        { input: [{ role: "user", content: [{ type: "input_image" }, { type: "text", text: "parts" }] }] },
        { output: [{ role: "assistant", content: [{ type: "output_text", text: "done" }] }] }
      ),
      ["parts", "done"]
    )
    assert.deepStrictEqual(previews({ request: { input: [{ role: "user", content: "wrapped" }] } }, "plain"), [
      "wrapped",
      "\"plain\""
    ])
    assert.deepStrictEqual(previews({ messages: [{ role: "system", content: "only" }] }, null), ["only", "null"])
    assert.deepStrictEqual(previews({ q: 1 }, [1, 2]), ["{\"q\": 1}", "[1, 2]"])
  })

  it("truncates previews to 1000 and legacy metadata to 250 characters, and replaces NUL", () => {
    const { info } = finalize(
      completed([span("1", null, { "mlflow.spanInputs": "a".repeat(5000), "mlflow.spanOutputs": "x\u0000y" })]),
      {},
      undefined
    )
    assert.strictEqual(info.requestPreview!.length, 1000)
    assert.isTrue(info.requestPreview!.endsWith("..."))
    assert.strictEqual(info.metadata["mlflow.traceInputs"].length, 250)
    assert.strictEqual(info.responsePreview, "\"x\\u0000y\"", "NUL is escaped in JSON previews")
    assert.deepStrictEqual(previews({ messages: [{ role: "user", content: "a\u0000b" }] }, null)[0], "a\ufffdb")
  })

  it("lets user updates win over computed values and truncates them to MLflow's limits", () => {
    const trace = completed([span("1", null, { "mlflow.spanInputs": { q: 1 } })])
    Object.assign(trace.updates, { requestPreview: "custom", state: "ERROR" })
    trace.updates.tags["k".repeat(300)] = "v".repeat(5000)
    trace.updates.metadata.m = "w".repeat(300)
    const { info } = finalize(trace, {}, undefined)
    assert.strictEqual(info.requestPreview, "custom")
    assert.strictEqual(info.state, "ERROR")
    assert.strictEqual(info.tags["k".repeat(247) + "..."], "v".repeat(4093) + "...")
    assert.strictEqual(info.metadata.m, "w".repeat(247) + "...")
  })

  it("aggregates token usage over the top-most spans, with cache keys when present", () => {
    const usage = (i: number, o: number, extra: object = {}) => ({
      "mlflow.chat.tokenUsage": { input_tokens: i, output_tokens: o, total_tokens: i + o, ...extra }
    })
    const spans = [
      span("1", null),
      span("2", "1", usage(10, 5)),
      span("3", "2", usage(7, 1)), // inside a span that already reports usage
      span("4", "1", usage(1, 1, { cache_read_input_tokens: 4 })),
      span("5", "99", usage(2, 2)) // orphan: its own subtree
    ]
    assert.deepStrictEqual(aggregateTokenUsage(spans), {
      input_tokens: 13,
      output_tokens: 8,
      total_tokens: 21,
      cache_read_input_tokens: 4
    })
    assert.isUndefined(aggregateTokenUsage([span("1", null)]))
  })

  it("writes JSON the way Python's json.dumps does", () => {
    assert.strictEqual(
      dumps({ a: [1, 2.5, "é"], b: { c: null, d: true } }),
      "{\"a\": [1, 2.5, \"é\"], \"b\": {\"c\": null, \"d\": true}}"
    )
    assert.strictEqual(dumps(1e-7), "1e-07")
  })
})
