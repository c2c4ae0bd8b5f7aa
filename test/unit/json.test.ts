import { assert, describe, it } from "@effect/vitest"
import { Data, Either, Exit, FastCheck as fc, Option, Redacted, Schema } from "effect"
import { dumps, dumpsPrefix } from "../../src/internal/format/pythonJson.js"
import { snapshot } from "../../src/internal/tracing/snapshot.js"

class Point extends Schema.Class<Point>("Point")({ x: Schema.Number, y: Schema.Number }) {}
class Account {
  secretField = "visible"
  constructor(readonly id: number) {}
  method() {
    return this.id
  }
}

describe("snapshot: serialization of anything", () => {
  it("handles every hostile kind of value deterministically", () => {
    const cyclic: any = { name: "a", list: [] }
    cyclic.list.push(cyclic)
    const cause = new Error("root cause")
    const error = new TypeError("outer", { cause })
    const hostile = {
      cyclic,
      bigint: -(2n ** 70n),
      symbol: Symbol("tag"),
      fn: () => 1,
      map: new Map<unknown, unknown>([["a", 1], [{ k: 1 }, "object key"]]),
      stringMap: new Map([["x", new Set([1, 2])]]),
      date: new Date("2024-01-02T03:04:05.678Z"),
      invalidDate: new Date(NaN),
      error,
      instance: new Account(7),
      typed: new Float64Array([1.5, -2]),
      buffer: Buffer.from("héllo"),
      arrayBuffer: new Uint8Array([255, 0]).buffer,
      redacted: Redacted.make("sk-live-123"),
      option: Option.some(1),
      none: Option.none(),
      either: Either.left("bad"),
      exit: Exit.fail("boom"),
      tagged: Data.struct({ a: 1 }),
      schema: new Point({ x: 1, y: 2 }),
      surrogate: "a\uD800b\uDFFFc",
      numbers: [NaN, Infinity, -Infinity, -0, 1e308],
      undef: undefined,
      nested: { undef: undefined, nul: null }
    }
    const first = snapshot(hostile) as any
    assert.deepStrictEqual(first, snapshot(hostile), "deterministic")
    assert.doesNotThrow(() => JSON.stringify(first))
    assert.deepStrictEqual(first.cyclic, { name: "a", list: ["[Circular]"] })
    assert.strictEqual(first.bigint, "-1180591620717411303424")
    assert.strictEqual(first.symbol, "tag")
    assert.strictEqual(first.fn, "[Function fn]")
    assert.deepStrictEqual(first.map, [["a", 1], [{ k: 1 }, "object key"]])
    assert.deepStrictEqual(first.stringMap, { x: [1, 2] })
    assert.strictEqual(first.date, "2024-01-02T03:04:05.678Z")
    assert.strictEqual(first.invalidDate, "Invalid Date")
    assert.strictEqual(first.error.name, "TypeError")
    assert.strictEqual(first.error.message, "outer")
    assert.strictEqual(first.error.cause.message, "root cause")
    assert.include(first.error.stack, "outer")
    assert.deepStrictEqual(first.instance, { secretField: "visible", id: 7 })
    assert.deepStrictEqual(first.typed, { type: "Float64Array", byteLength: 16, base64: "AAAAAAAA+D8AAAAAAAAAwA==" })
    assert.deepStrictEqual(first.buffer, { type: "Buffer", byteLength: 6, base64: "aMOpbGxv" })
    assert.deepStrictEqual(first.arrayBuffer, { type: "ArrayBuffer", byteLength: 2, base64: "/wA=" })
    assert.strictEqual(first.redacted, "<redacted>")
    assert.deepStrictEqual(first.option, { _id: "Option", _tag: "Some", value: 1 })
    assert.deepStrictEqual(first.none, { _id: "Option", _tag: "None" })
    assert.deepStrictEqual(first.either, { _id: "Either", _tag: "Left", left: "bad" })
    assert.strictEqual(first.exit._tag, "Failure")
    assert.deepStrictEqual(first.tagged, { a: 1 })
    assert.deepStrictEqual(first.schema, { x: 1, y: 2 })
    assert.strictEqual(first.surrogate, "a\uFFFDb\uFFFDc")
    assert.isTrue(first.surrogate.isWellFormed())
    assert.deepStrictEqual(first.numbers, ["NaN", "Infinity", "-Infinity", 0, 1e308])
    assert.isFalse("undef" in first)
    assert.deepStrictEqual(first.nested, { nul: null })
    assert.notInclude(JSON.stringify(first), "sk-live-123")
  })

  it("keeps a __proto__ key of user data as data", () => {
    const data = JSON.parse("{\"__proto__\": {\"admin\": true}, \"user\": \"x\"}")
    const out = snapshot(data) as any
    assert.deepStrictEqual(Object.keys(out), ["__proto__", "user"])
    assert.isUndefined(out.admin)
    assert.strictEqual(JSON.stringify(out), "{\"__proto__\":{\"admin\":true},\"user\":\"x\"}")
  })

  it("isolates values whose inspection throws", () => {
    const proxy = new Proxy({}, {
      ownKeys() {
        throw new Error("no keys for you")
      }
    })
    const badJson = {
      toJSON: () => {
        throw new Error("toJSON failed")
      }
    }
    const getter = Object.defineProperty({ ok: 1 }, "bad", {
      enumerable: true,
      get() {
        throw new Error("getter failed")
      }
    })
    assert.deepStrictEqual(snapshot({ proxy, badJson, getter, fine: "yes" }), {
      proxy: "[Unserializable: no keys for you]",
      badJson: "[Unserializable: toJSON failed]",
      getter: { ok: 1, bad: "[Unserializable: getter failed]" },
      fine: "yes"
    })
  })

  it("bounds huge and deep values with explicit markers", () => {
    const huge = "x".repeat(50 * 1024 * 1024)
    const cut = snapshot(huge) as string
    assert.strictEqual(cut, "x".repeat(1_000_000) + `...[truncated ${50 * 1024 * 1024 - 1_000_000} chars]`)
    const many = snapshot(Array.from({ length: 10_005 }, (_, i) => i)) as Array<unknown>
    assert.strictEqual(many.length, 10_001)
    assert.strictEqual(many[10_000], "[... 5 more items]")
    const wide = snapshot(Object.fromEntries(Array.from({ length: 10_003 }, (_, i) => [`k${i}`, i]))) as any
    assert.strictEqual(wide["..."], "[3 more keys]")
    let deep: any = "bottom"
    for (let i = 0; i < 100; i++) deep = { deep }
    assert.include(JSON.stringify(snapshot(deep)), "[MaxDepth]")
    const bytes = snapshot(new Uint8Array(2_000_000)) as any
    assert.strictEqual(bytes.byteLength, 2_000_000)
    assert.include(bytes.truncated, "bytes left out")
    assert.isAtMost(bytes.base64.length, 1_000_000)
  })

  it("keeps binary content written as text whole past the length bound (it becomes an attachment)", () => {
    const base64 = Buffer.alloc(1_500_000, "an image ").toString("base64")
    assert.isAbove(base64.length, 1_000_000)
    const uri = `data:image/png;base64,${base64}`
    assert.strictEqual(snapshot(uri), uri)
    const anthropic = { type: "image", source: { type: "base64", media_type: "image/png", data: base64 } }
    assert.deepStrictEqual(snapshot(anthropic), anthropic)
    assert.deepStrictEqual(snapshot({ b64_json: base64 }), { b64_json: base64 })
    // text that only looks like it, or sits elsewhere, is cut as before
    const cut = (value: unknown) => JSON.stringify(snapshot(value)).includes("...[truncated")
    assert.isTrue(cut({ text: base64 }))
    assert.isTrue(cut({ data: `${base64}!` }))
    assert.isTrue(cut(`data:image/png;base64,${base64}!`))
    assert.isTrue(cut(`data:text/plain,${base64}`))
  })

  it("never throws and always yields JSON, for arbitrary values", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withSet: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
          withNullPrototype: true,
          withObjectString: true,
          withBoxedValues: true,
          withUnicodeString: true
        }),
        (value) => {
          const result = snapshot(value)
          const text = JSON.stringify(result)
          assert.isString(text)
          assert.deepStrictEqual(JSON.parse(text), result)
          assert.strictEqual(JSON.stringify(snapshot(value)), text)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("dumps like Python's json.dumps for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.deepStrictEqual(JSON.parse(dumps(value as any)), JSON.parse(JSON.stringify(value)))
      }),
      { numRuns: 300 }
    )
  })

  it("dumpsPrefix is the start of dumps, for any value and limit (emoji, escapes and large strings too)", () => {
    const value = fc.oneof(fc.jsonValue(), fc.string({ unit: "grapheme", maxLength: 3000 }), fc.array(fc.string()))
    fc.assert(
      fc.property(value, fc.nat(1200), (value, limit) => {
        assert.strictEqual(dumpsPrefix(value as any, limit), dumps(value as any).slice(0, limit))
      }),
      { numRuns: 1000 }
    )
    assert.strictEqual(
      dumpsPrefix({ document: "d".repeat(100_000) }, 1001),
      dumps({ document: "d".repeat(100_000) }).slice(0, 1001)
    )
  })
})
