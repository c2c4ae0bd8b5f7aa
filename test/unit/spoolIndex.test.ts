import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { OldestFirst, sortInSlices } from "../../src/internal/sinks/spoolIndex.js"

describe("the spool's index", () => {
  it("sorts as Array.prototype.sort does, stably", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.nat()), { maxLength: 9000 }),
        async (items) => {
          const byKey = (a: readonly [number, number], b: readonly [number, number]) => a[0] - b[0]
          assert.deepStrictEqual(await sortInSlices(items, byKey), [...items].sort(byKey))
        }
      ),
      { numRuns: 30 }
    )
  })

  it("lets the event loop run while it orders a listing of 40,000 traces", async () => {
    const start = 1_700_000_000_000_000
    const names = Array.from({ length: 40_000 }, (_, n) => `${start + ((n * 7919) % 40_000)}-tr-${n}.json`)
    let turns = 0
    const tick = () => {
      turns++
      if (!done) setImmediate(tick)
    }
    let done = false
    setImmediate(tick)
    const oldest = await OldestFirst.of(names.map((name) => ({ name, file: name })))
    done = true
    assert.isAbove(turns, 10)
    assert.strictEqual(oldest.size, 40_000)
    const taken = Array.from({ length: 40_000 }, () => oldest.take()!.name)
    assert.deepStrictEqual(taken, [...names].sort())
  })
})
