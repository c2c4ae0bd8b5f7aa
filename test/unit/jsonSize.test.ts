import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { jsonSize, jsonSizeBound, textSize } from "../../src/internal/format/jsonSize.js"

const escapesIn = (json: string) => [...json].filter((c) => c === "\"" || c === "\\").length

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: fc.constantFrom("\"", "\\", "\n", "\u0000", "\u007f", "\u2028", "\ud800", "\udc00", "é", "a") })
)
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value")),
    fc.dictionary(text, tie("value"))
  )
})).value

describe("jsonSize", () => {
  it("measures exactly what JSON.stringify writes: its UTF-8 bytes, and its quotes and backslashes", () => {
    fc.assert(
      fc.property(json, (value) => {
        const written = JSON.stringify(value)
        const size = jsonSize(value as never)
        assert.strictEqual(size.bytes, Buffer.byteLength(written, "utf8"))
        assert.strictEqual(size.escapes, escapesIn(written))
      }),
      { numRuns: 5000 }
    )
  })

  it("measures a text as JSON.stringify writes it", () => {
    fc.assert(
      fc.property(
        text,
        (value) => assert.strictEqual(textSize(value), Buffer.byteLength(JSON.stringify(value), "utf8"))
      ),
      { numRuns: 5000 }
    )
  })

  it("bounds from above what JSON.stringify writes, without reading the text", () => {
    fc.assert(
      fc.property(json, (value) => {
        assert.isAtLeast(jsonSizeBound(value as never), Buffer.byteLength(JSON.stringify(value), "utf8"))
      }),
      { numRuns: 5000 }
    )
  })
})
