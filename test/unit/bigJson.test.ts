import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { parseBigJson } from "../../src/internal/format/bigJson.js"

describe("bigint-safe JSON", () => {
  it("keeps nanosecond times exact", () => {
    assert.deepStrictEqual(parseBigJson("{\"start_time_unix_nano\": 1718000000123456789, \"n\": 5, \"f\": 1.5e3}"), {
      start_time_unix_nano: 1718000000123456789n,
      n: 5,
      f: 1500
    })
  })

  it("agrees with JSON.parse on any JSON without big integers", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        let big = false
        const expected = JSON.parse(text, (_, v) => {
          if (typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v)) big = true
          return v
        })
        fc.pre(!big)
        assert.deepStrictEqual(parseBigJson(text), expected)
      }),
      { numRuns: 500 }
    )
  })

  it("keeps a __proto__ key as data, never as a prototype", () => {
    const parsed = parseBigJson("{\"__proto__\": {\"polluted\": true}, \"a\": 1}") as any
    assert.deepStrictEqual(Object.keys(parsed), ["__proto__", "a"])
    assert.strictEqual(Object.getPrototypeOf(parsed), Object.prototype)
    assert.isUndefined(parsed.polluted)
  })

  it("rejects malformed JSON", () => {
    for (const bad of ["{", "[1,]", "{\"a\" 1}", "\"open", "tru", "1 2"]) {
      assert.throws(() => parseBigJson(bad), SyntaxError)
    }
  })
})
