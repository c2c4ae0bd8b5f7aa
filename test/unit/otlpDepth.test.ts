import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Otlp from "../../src/internal/format/otlp.js"
import { decodeRequest } from "../support/otlpDecode.js"

/** Deep JSON trees: chains of objects and arrays with scalars and siblings along the way. */
const deep: fc.Arbitrary<unknown> = fc.integer({ min: 0, max: 60 }).chain((depth) =>
  fc.array(fc.constantFrom("object", "array"), { minLength: depth, maxLength: depth }).chain((path) =>
    fc.tuple(fc.oneof(fc.string(), fc.integer(), fc.boolean()), fc.string()).map(([leaf, sibling]) =>
      path.reduceRight<unknown>((inner, kind) => kind === "object" ? { next: inner, sibling } : [sibling, inner], leaf)
    )
  )
)

/** The nesting of the AnyValue messages a decoded attribute value took (its own AnyValue at `at`). */
const messageDepth = (value: unknown, at: number): number =>
  Array.isArray(value)
    ? Math.max(at, ...value.map((item) => messageDepth(item, at + 2)))
    : typeof value === "object" && value !== null
    ? Math.max(at, ...Object.values(value).map((item) => messageDepth(item, at + 3)))
    : at

/** Undoes the clamp: every marked string back into the JSON it holds. */
const unclamp = (value: unknown): unknown =>
  typeof value === "string" && value.startsWith(Otlp.depthMarker)
    ? JSON.parse(value.slice(Otlp.depthMarker.length))
    : Array.isArray(value)
    ? value.map(unclamp)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unclamp(item)]))
    : value

const span = (attributes: Record<string, any>, events: Array<Record<string, any>> = []) => ({
  traceId: "0123456789abcdef0123456789abcdef",
  spanId: "0123456789abcdef",
  parentSpanId: null,
  name: "s",
  kind: "internal" as const,
  startTimeUnixNano: 1n,
  endTimeUnixNano: 2n,
  status: { code: "OK" as const, message: "" },
  attributes,
  events: events.map((attributes) => ({ name: "e", timeUnixNano: 1n, attributes }))
})

describe("OTLP nesting stays under MLflow's protobuf recursion limit", () => {
  it("never writes an AnyValue deeper than maxMessageDepth, and keeps every value (the deep part as marked JSON)", () => {
    assert.isBelow(Otlp.maxMessageDepth, 100)
    fc.assert(
      fc.property(deep, deep, (attribute, eventAttribute) => {
        const bytes = Otlp.encodeTraceRequest([span({ a: attribute as any }, [{ b: eventAttribute as any }])], {
          attributes: {}
        })
        const [decoded] = decodeRequest(bytes)[0].scopes[0].spans
        // span attribute AnyValues sit 6 messages deep, event attribute ones 7
        assert.isAtMost(messageDepth(decoded.attributes.a, 6), Otlp.maxMessageDepth)
        assert.isAtMost(messageDepth(decoded.events[0].attributes.b, 7), Otlp.maxMessageDepth)
        assert.deepStrictEqual(unclamp(decoded.attributes.a), attribute)
        assert.deepStrictEqual(unclamp(decoded.events[0].attributes.b), eventAttribute)
      }),
      { numRuns: 300 }
    )
  })
})
