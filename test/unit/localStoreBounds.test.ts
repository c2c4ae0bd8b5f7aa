import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { toEntry } from "../../src/internal/export/spool.js"
import * as LocalStore from "../../src/internal/sinks/localStore.js"
import * as Spool from "../../src/internal/sinks/spool.js"
import { numberedTrace } from "../support/numberedTraces.js"

// every file the same size
const trace = (n: number) =>
  numberedTrace(n, {
    requestPreview: "x".repeat(500),
    tags: { "mlflow.traceName": `trace-${String(n).padStart(3, "0")}` }
  })

const temporary = () => fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-local-bounds-"))
const traceFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith(".json")).sort()
const fileOf = (dir: string, n: number) => path.join(dir, `${trace(n).info.traceId}.json`)
/** Ages a written file: `secondsAgo` before now. */
const age = (file: string, secondsAgo: number) => {
  const at = new Date(Date.now() - secondsAgo * 1000)
  fs.utimesSync(file, at, at)
}

describe("the local store's bounds", () => {
  it.effect("past its size, the oldest trace files are removed first, down to the size", () =>
    Effect.gen(function*() {
      const dir = temporary()
      const sink = yield* LocalStore.makeSink(dir)
      for (let n = 1; n <= 10; n++) {
        yield* sink.export([trace(n)])
        age(fileOf(dir, n), 100 - n)
      }
      const size = fs.statSync(fileOf(dir, 1)).size
      const bounded = yield* LocalStore.makeSink(dir, { maxBytes: size * 4, maxAge: undefined })
      yield* bounded.export([trace(11)])
      // the newest four stay: 8, 9, 10 and the one just written
      assert.deepStrictEqual(traceFiles(dir), [8, 9, 10, 11].map((n) => path.basename(fileOf(dir, n))))
    }).pipe(Effect.orDie))

  it.effect("trace files older than its age are removed; younger ones stay", () =>
    Effect.gen(function*() {
      const dir = temporary()
      const sink = yield* LocalStore.makeSink(dir)
      yield* sink.export([trace(1), trace(2), trace(3)])
      age(fileOf(dir, 1), 7200)
      age(fileOf(dir, 2), 3700)
      fs.writeFileSync(path.join(dir, "notes.txt"), "mine") // not a trace file: never touched
      const bounded = yield* LocalStore.makeSink(dir, { maxBytes: undefined, maxAge: Duration.hours(1) })
      yield* bounded.export([trace(4)])
      assert.deepStrictEqual(traceFiles(dir), [3, 4].map((n) => path.basename(fileOf(dir, n))))
      assert.isTrue(fs.existsSync(path.join(dir, "notes.txt")))
    }).pipe(Effect.orDie))
})

/** The bytes of the trace files of a directory. */
const bytesOf = (dir: string) => traceFiles(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0)

describe("the size bounds count bytes, not characters", () => {
  // 100,000 CJK characters: 300,000 bytes in UTF-8
  const wide = (n: number) => numberedTrace(n, { requestPreview: "語".repeat(100_000) })
  const MB = 1024 * 1024

  it.effect("the local store stays within localMaxBytes after each write, whatever the characters", () =>
    Effect.gen(function*() {
      const dir = temporary()
      const sink = yield* LocalStore.makeSink(dir, { maxBytes: MB, maxAge: undefined })
      let peak = 0
      for (let n = 1; n <= 30; n++) {
        yield* sink.export([wide(n)])
        peak = Math.max(peak, bytesOf(dir))
      }
      assert.isAtMost(peak, MB)
      assert.isAbove(peak, MB / 2)
    }).pipe(Effect.orDie))

  it.effect("the spool stays within spoolMaxBytes after each write, whatever the characters", () =>
    Effect.gen(function*() {
      const spool = Spool.open(temporary(), Spool.recordFor("http://mlflow:5000", { _tag: "Id", id: "1" }), {
        maxBytes: MB,
        maxAgeMillis: 60_000
      })
      let peak = 0
      for (let n = 1; n <= 30; n++) {
        yield* spool.write([toEntry(wide(n))])
        peak = Math.max(peak, bytesOf(spool.directory))
      }
      assert.isAtMost(peak, MB)
      assert.isAbove(peak, MB / 2)
    }).pipe(Effect.orDie))
})
