import { assert, describe, it } from "@effect/vitest"
import { spanJsonSize, spanToJson, traceToJson } from "../../src/internal/format/traceJson.js"
import { snapshot } from "../../src/internal/tracing/snapshot.js"
import type { SpanData } from "../../src/Trace.js"

const span = (overrides: Partial<SpanData>): SpanData => ({
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  parentSpanId: null,
  name: "predict",
  kind: "internal",
  startTimeUnixNano: 1_718_000_000_000_000_000n,
  endTimeUnixNano: 1_718_000_000_500_000_000n,
  status: { code: "OK", message: "" },
  attributes: {},
  events: [],
  ...overrides
})

describe("MLflow JSON encodings", () => {
  it("writes Span.to_dict(): base64 ids, integer nanoseconds, JSON-string attributes", () => {
    const json = spanToJson(span({
      parentSpanId: "00f067aa0ba902b7",
      status: { code: "ERROR", message: "ValueError: boom" },
      attributes: { "mlflow.spanType": "CHAIN", "mlflow.spanInputs": { x: 1 } },
      events: [{ name: "exception", timeUnixNano: 1_718_000_000_400_000_000n, attributes: { "exception.type": "E" } }]
    }))
    assert.include(json, "\"trace_id\": \"CvdlGRbNQ92ESOshHIAxnA==\"")
    assert.include(json, "\"span_id\": \"t61rcWkgMzE=\"")
    assert.include(json, "\"start_time_unix_nano\": 1718000000000000000,")
    assert.include(json, "\"time_unix_nano\": 1718000000400000000")
    assert.include(json, "\"status\": {\"code\": \"STATUS_CODE_ERROR\", \"message\": \"ValueError: boom\"}")
    const parsed = JSON.parse(json)
    assert.strictEqual(parsed.attributes["mlflow.spanType"], "\"CHAIN\"")
    assert.strictEqual(parsed.attributes["mlflow.spanInputs"], "{\"x\":1}")
    assert.strictEqual(parsed.kind, "SPAN_KIND_INTERNAL")
  })

  it("computes the exact encoded size of any span without encoding it", () => {
    const values: Array<unknown> = [
      "plain",
      "quote \" and backslash \\ and newline \n",
      "ünïcödé ✓ 😀",
      { nested: ["a", 1, 2.5, null, true, { deep: "\"" }] },
      12345678901234,
      -0.5,
      [],
      {}
    ]
    values.forEach((_value, i) => {
      const s = span({
        name: i % 2 === 0 ? "naïve \"name\"" : "n",
        parentSpanId: i % 3 === 0 ? null : "00f067aa0ba902b7",
        kind: (["internal", "server", "client", "producer", "consumer"] as const)[i % 5],
        status: i % 2 === 0 ? { code: "ERROR", message: "Err: \"x\" ✓" } : { code: "UNSET", message: "" },
        startTimeUnixNano: BigInt(i * 1000),
        attributes: Object.fromEntries(values.slice(0, i + 1).map((v, j) => [`key.${j} "q"`, snapshot(v)])),
        events: i % 2 === 0 ? [] : [{ name: "log ✓", timeUnixNano: 5n, attributes: { a: "b", n: 1, o: { x: 1 } } }]
      })
      assert.strictEqual(spanJsonSize(s), Buffer.byteLength(spanToJson(s)), `span ${i}`)
    })
  })

  it("writes Trace.to_json() with info.execution_duration_ms", () => {
    const text = traceToJson({
      info: {
        traceId: "tr-0af7651916cd43dd8448eb211c80319c",
        experimentId: "7",
        requestTimeMs: 1_718_000_000_000,
        executionDurationMs: 500,
        state: "OK",
        requestPreview: "{}",
        responsePreview: undefined,
        clientRequestId: undefined,
        metadata: { a: "b" },
        tags: { t: "u" }
      },
      spans: [span({})]
    })
    const parsed = JSON.parse(text)
    assert.deepStrictEqual(parsed.info, {
      trace_id: "tr-0af7651916cd43dd8448eb211c80319c",
      trace_location: { type: "MLFLOW_EXPERIMENT", mlflow_experiment: { experiment_id: "7" } },
      request_time: "2024-06-10T06:13:20.000Z",
      state: "OK",
      trace_metadata: { a: "b" },
      tags: { t: "u" },
      request_preview: "{}",
      execution_duration_ms: 500
    })
    assert.strictEqual(parsed.data.spans.length, 1)
  })
})
