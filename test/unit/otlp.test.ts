import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Otlp from "../../src/internal/format/otlp.js"
import { snapshot } from "../../src/internal/tracing/snapshot.js"
import type { SpanData } from "../../src/Trace.js"
import { decodeRequest } from "../support/otlpDecode.js"

const hexId = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"))

const jsonLeaf = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.maxSafeInteger(),
  fc.constant(null)
)
const jsonTree = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    jsonLeaf,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 })
  )
})).value

const span: fc.Arbitrary<SpanData> = fc.record({
  traceId: hexId(16),
  spanId: hexId(8),
  parentSpanId: fc.option(hexId(8), { nil: null }),
  name: fc.string({ unit: "binary" }),
  kind: fc.constantFrom("internal", "server", "client", "producer", "consumer"),
  startTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  endTimeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  status: fc.record({ code: fc.constantFrom("UNSET", "OK", "ERROR"), message: fc.string() }),
  attributes: fc.dictionary(fc.string(), jsonTree, { maxKeys: 6 }),
  events: fc.array(
    fc.record({
      name: fc.string(),
      timeUnixNano: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      attributes: fc.dictionary(fc.string(), jsonTree, { maxKeys: 3 })
    }),
    { maxLength: 3 }
  )
}).map((s) =>
  ({
    ...s,
    // the tracer stores snapshots: well-formed strings, -0 as 0
    name: snapshot(s.name) as string,
    attributes: snapshot(s.attributes) as SpanData["attributes"],
    events: s.events.map((e) => ({ ...e, attributes: snapshot(e.attributes) as SpanData["attributes"] }))
  }) as SpanData
)

describe("OTLP encoding", () => {
  it("round-trips values whose lengths take one to four varint bytes, nested at every level", () => {
    for (const size of [0, 127, 128, 16_383, 16_384, 100 * 1024, 2_097_151, 2_097_152 + 5]) {
      const text = "é".repeat(Math.floor(size / 2)) + "x".repeat(size % 2)
      const spans: Array<SpanData> = [{
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        parentSpanId: null,
        name: text.slice(0, 300),
        kind: "internal",
        startTimeUnixNano: 1n,
        endTimeUnixNano: 2n,
        status: { code: "OK", message: "" },
        attributes: { flat: text, nested: { list: [text, { deep: text }] } },
        events: [{ name: "e", timeUnixNano: 1n, attributes: { text } }]
      }]
      const [decoded] = decodeRequest(Otlp.encodeTraceRequest(spans, { attributes: {} }))
      const got = decoded.scopes[0].spans[0]
      assert.deepStrictEqual(got.attributes, spans[0].attributes, `size ${size}`)
      assert.deepStrictEqual(got.events[0].attributes, { text }, `size ${size}`)
      assert.strictEqual(got.name, text.slice(0, 300))
    }
  })

  it("round-trips any spans through an independent protobuf decoder", () => {
    fc.assert(
      fc.property(fc.array(span, { maxLength: 5 }), (spans) => {
        const [decoded] = decodeRequest(Otlp.encodeTraceRequest(spans, { attributes: { "service.name": "svc" } }))
        assert.deepStrictEqual(decoded.resource, { "service.name": "svc" })
        assert.strictEqual(decoded.scopes[0].name, "effect-mlflow")
        const got = decoded.scopes[0].spans
        assert.strictEqual(got.length, spans.length)
        spans.forEach((expected, i) => {
          assert.deepStrictEqual(got[i], {
            traceId: expected.traceId,
            spanId: expected.spanId,
            parentSpanId: expected.parentSpanId,
            name: expected.name,
            kind: expected.kind,
            startTimeUnixNano: expected.startTimeUnixNano,
            endTimeUnixNano: expected.endTimeUnixNano,
            attributes: expected.attributes,
            events: expected.events.map((e) => ({ ...e })),
            status: expected.status
          })
        })
      }),
      { numRuns: 300 }
    )
  })
})
