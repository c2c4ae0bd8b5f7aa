import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import type * as FsPromises from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { vi } from "vitest"
import { toEntry } from "../../src/internal/export/spool.js"
import * as Spool from "../../src/internal/sinks/spool.js"
import type { Trace } from "../../src/Trace.js"
import { numberedTrace } from "../support/numberedTraces.js"
import { root as repository } from "../support/spawn.js"

/** The spool's calls that look at every file of a folder: listings, and the size of one file. */
const calls = vi.hoisted(() => ({ readdir: 0, stat: 0 }))
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>()
  const counted = {
    ...actual,
    readdir: ((...args: Parameters<typeof actual.readdir>) => {
      calls.readdir++
      return actual.readdir(...args)
    }) as typeof actual.readdir,
    stat: ((...args: Parameters<typeof actual.stat>) => {
      calls.stat++
      return actual.stat(...args)
    }) as typeof actual.stat
  }
  return { ...counted, default: counted }
})

const record = Spool.recordFor("http://127.0.0.1:5000", { _tag: "Id", id: "1" })
const roomy = { maxBytes: 1024 * 1024, maxAgeMillis: 60_000 }
const entries = (...numbers: ReadonlyArray<number>) => numbers.map((n) => toEntry(numberedTrace(n)))
const temporary = () => fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-claim-"))
const traceNames = (claimed: ReadonlyArray<{ readonly trace: Trace }>) =>
  claimed.map((item) => item.trace.info.tags["mlflow.traceName"])
const claimFiles = (directory: string) => fs.readdirSync(directory).filter((name) => name.includes(".claim."))

/** A spool folder holding traces 1..count, written as the spool writes them (directly, for speed). */
const folderOf = (count: number) => {
  const root = temporary()
  const directory = Spool.open(root, record, roomy).directory
  fs.mkdirSync(directory, { recursive: true })
  const start = Date.now() * 1000 - count
  for (let n = 1; n <= count; n++) {
    const name = `${String(start + n).padStart(16, "0")}-${numberedTrace(n).info.traceId}.json`
    fs.writeFileSync(path.join(directory, name), Spool.entryToJson(toEntry(numberedTrace(n))))
  }
  return root
}

/** The listings and sizes asked by each of `times` calls of `f`, after a first call that may look at every file. */
const perCall = <A, E>(times: number, f: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    yield* f
    const counts: Array<{ readdir: number; stat: number }> = []
    for (let i = 0; i < times; i++) {
      calls.readdir = 0
      calls.stat = 0
      yield* f
      counts.push({ ...calls })
    }
    return counts
  })

describe("claims of the spool", () => {
  it.live("a claim lists no folder and asks no file's size, whether the folder holds 50 traces or 2,000", () =>
    Effect.gen(function*() {
      const measured = (count: number) =>
        Effect.gen(function*() {
          const spool = Spool.open(folderOf(count), record, roomy)
          const counts = yield* perCall(4, spool.claim(10))
          // every claim took 10 traces, oldest first
          const next = yield* spool.claim(10)
          assert.deepStrictEqual(traceNames(next), Array.from({ length: 10 }, (_, i) => `trace-${51 + i}`))
          return counts
        })
      const small = yield* measured(60)
      const large = yield* measured(2000)
      assert.deepStrictEqual(large, small)
      assert.deepStrictEqual(large, Array.from({ length: 4 }, () => ({ readdir: 0, stat: 0 })))
    }))

  it.live("a spool over its size makes room from what the process knows, not by asking every file's size", () =>
    Effect.gen(function*() {
      const root = folderOf(1000)
      const directory = path.join(root, Spool.destinationKey(record))
      const held = fs.readdirSync(directory).reduce(
        (sum, name) => sum + fs.statSync(path.join(directory, name)).size,
        0
      )
      // full: each trace written makes the oldest go
      const spool = Spool.open(root, record, { maxBytes: held + 100, maxAgeMillis: 60_000 })
      let n = 5000
      const counts = yield* perCall(
        4,
        Effect.tap(spool.write([toEntry(numberedTrace(n++))]), (written) => assert.strictEqual(written.evicted, 1))
      )
      assert.deepStrictEqual(counts, Array.from({ length: 4 }, () => ({ readdir: 0, stat: 0 })))
      // the oldest went first
      assert.deepStrictEqual(traceNames(yield* spool.claim(2)), ["trace-6", "trace-7"])
    }))

  it.live("a file that cannot be read is left waiting, and the rest of the claim is not held by it", () =>
    Effect.gen(function*() {
      const spool = Spool.open(temporary(), record, roomy)
      yield* spool.write(entries(1, 2, 3))
      // newest, so claimed after the others: over 2 GiB, which no read of a file takes whole
      const unreadable = path.join(spool.directory, `${"9".repeat(16)}-tr-${"f".repeat(32)}.json`)
      fs.writeFileSync(unreadable, "")
      fs.truncateSync(unreadable, 3 * 2 ** 30)

      const claimed = yield* spool.claim(10)
      assert.deepStrictEqual(traceNames(claimed), ["trace-1", "trace-2", "trace-3"])
      assert.deepStrictEqual(claimFiles(spool.directory).length, 3)
      yield* Effect.forEach(claimed, (item) => item.done)
      assert.deepStrictEqual(claimFiles(spool.directory), [])
      // not a damaged trace: it waits for a later claim
      assert.isTrue(fs.existsSync(unreadable))
      fs.rmSync(unreadable)
    }))

  it.live(
    "a host whose clock is hours ahead does not take over the live claims of another",
    () =>
      Effect.gen(function*() {
        const root = temporary()
        const spool = Spool.open(root, record, roomy)
        yield* spool.write(entries(1, 2, 3))
        const held = yield* spool.claim(10)
        assert.strictEqual(held.length, 3)
        const other = spawnSync(
          path.join(repository, "node_modules/.bin/tsx"),
          [path.join(repository, "test/support/services/skewedClaim.ts")],
          {
            cwd: repository,
            encoding: "utf8",
            env: { ...process.env, SPOOL_DIR: root, SKEW_MILLIS: String(3 * 3_600_000) }
          }
        )
        assert.strictEqual(other.status, 0, other.stderr)
        assert.deepStrictEqual(JSON.parse(other.stdout.trim().split("\n").at(-1)!), { claimed: 0 })
        yield* Effect.forEach(held, (item) => item.done)
      }),
    120_000
  )

  it.live("another host's claim is taken over once this process has seen it unchanged for the lease", () =>
    Effect.gen(function*() {
      const spool = Spool.open(temporary(), record, roomy)
      yield* spool.write(entries(1))
      const [name] = fs.readdirSync(spool.directory).filter((file) =>
        file.endsWith(".json") && file !== "destination.json"
      )
      // its lease, by its own clock, runs for hours yet: a clock behind this one's
      fs.renameSync(
        path.join(spool.directory, name),
        path.join(spool.directory, `${name}.claim.another-host.1.${Date.now() + 5 * 3_600_000}`)
      )
      assert.deepStrictEqual(yield* spool.claim(10), [])
      const now = performance.now()
      const later = vi.spyOn(performance, "now").mockImplementation(() => now + 10 * 60_000 + 1)
      try {
        assert.deepStrictEqual(traceNames(yield* spool.claim(10)), ["trace-1"])
      } finally {
        later.mockRestore()
      }
    }))
})
