import { assert, describe, it } from "@effect/vitest"
import { completeJsonLines } from "../harness/collector.js"

describe("the collector harness", () => {
  it("reads the requests written whole, not the line the collector is still writing", () => {
    const whole = JSON.stringify({ resourceSpans: [{ scopeSpans: [] }] })
    const partial = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [] }] }] }).slice(0, 20)
    assert.deepStrictEqual(completeJsonLines(`${whole}\n${whole}\n${partial}`), [JSON.parse(whole), JSON.parse(whole)])
    assert.deepStrictEqual(completeJsonLines(`${whole}\n`), [JSON.parse(whole)])
    assert.deepStrictEqual(completeJsonLines(""), [])
  })
})
