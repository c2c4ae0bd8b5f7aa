import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { toEntry } from "../../src/internal/export/spool.js"
import { readTraceFile } from "../../src/internal/format/traceFile.js"
import { traceToJson } from "../../src/internal/format/traceJson.js"
import { extractAttachments } from "../../src/internal/prepare/attachments.js"
import * as Spool from "../../src/internal/sinks/spool.js"
import { SpanAttributeKey, type Trace } from "../../src/Trace.js"
import { fixedSpan, numberedTrace } from "../support/numberedTraces.js"

const PNG = "iVBORw0KGgoAAAANSUhEUg=="

const span = fixedSpan
const trace = (n: number, requestTimeMs?: number): Trace =>
  numberedTrace(n, requestTimeMs === undefined ? {} : { requestTimeMs })

const record = Spool.recordFor("http://user:secret@mlflow.internal:5000/", { _tag: "Id", id: "1" })
const entries = (...traces: ReadonlyArray<Trace>) => traces.map(toEntry)
const roomy = { maxBytes: 1024 * 1024, maxAgeMillis: 60_000 }

const temporary = () => fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-"))
const names = (directory: string) => fs.readdirSync(directory).filter((name) => name !== "destination.json").sort()
const traceNames = (claimed: ReadonlyArray<{ readonly trace: Trace }>) =>
  claimed.map((item) => item.trace.info.tags["mlflow.traceName"])

describe("the spool on disk", () => {
  it("records the destination with its credentials scrubbed, and keys it by server and experiment", () => {
    assert.deepStrictEqual(record, { tracking_uri: "http://<redacted>@mlflow.internal:5000", experiment: "id:1" })
    const byName = Spool.recordFor("http://mlflow.internal:5000", { _tag: "Name", name: "chat" })
    assert.strictEqual(byName.experiment, "name:chat")
    assert.notStrictEqual(Spool.destinationKey(record), Spool.destinationKey(byName))
    assert.strictEqual(
      Spool.destinationKey(record),
      Spool.destinationKey(
        Spool.recordFor("http://rotated:pw@mlflow.internal:5000", { _tag: "IdAndName", id: "1", name: "x" })
      )
    )
    // the workspace the requests name is part of where a trace belongs; without one, the key is as it was
    const inWorkspace = (workspace: string) =>
      Spool.destinationKey(Spool.recordFor("http://mlflow.internal:5000", { _tag: "Id", id: "1" }, { workspace }))
    assert.notStrictEqual(inWorkspace("team-a"), inWorkspace("team-b"))
    assert.notStrictEqual(inWorkspace("team-a"), Spool.destinationKey(record))
    assert.strictEqual(Spool.destinationKey(record), "9f632a1ed9dcf906")
    const databricks = (databricksWorkspaceId: string) =>
      Spool.destinationKey(
        Spool.recordFor("https://dbc.example.com", { _tag: "Name", name: "/Shared/x" }, { databricksWorkspaceId })
      )
    assert.notStrictEqual(databricks("1"), databricks("2"))
  })

  it.live("writes trace files MLflow can read, and claims them in the order they were spooled, once", () =>
    Effect.gen(function*() {
      const root = temporary()
      const spool = Spool.open(root, record, roomy)
      const written = yield* spool.write(entries(trace(3), trace(1), trace(2)))
      assert.deepStrictEqual(written, { written: 3, evicted: 0, expired: 0 })
      assert.strictEqual(spool.directory, path.join(root, Spool.destinationKey(record)))
      assert.deepStrictEqual(
        JSON.parse(fs.readFileSync(path.join(spool.directory, "destination.json"), "utf8")),
        record
      )
      const file = path.join(spool.directory, names(spool.directory)[0])
      assert.match(path.basename(file), /^\d{16}-tr-0{31}3\.json$/)
      assert.strictEqual(fs.readFileSync(file, "utf8"), traceToJson(trace(3)))
      assert.strictEqual(yield* Effect.promise(() => Spool.waitingCount(spool.directory)), 3)

      const first = yield* spool.claim(2)
      assert.deepStrictEqual(traceNames(first), ["trace-3", "trace-1"])
      assert.deepStrictEqual(first[0].trace, trace(3))
      // claimed files are no one else's: a second claim (another process) gets only what is left
      const second = yield* Spool.open(root, record, roomy).claim(10)
      assert.deepStrictEqual(traceNames(second), ["trace-2"])
      assert.deepStrictEqual(yield* spool.claim(10), [])
      assert.strictEqual(yield* Effect.promise(() => Spool.waitingCount(spool.directory)), 0)

      yield* first[0].done
      yield* first[1].release
      yield* second[0].reject
      assert.deepStrictEqual(names(spool.directory), [path.basename(first[1].file), "rejected"])
      assert.deepStrictEqual(fs.readdirSync(path.join(spool.directory, "rejected")), [path.basename(second[0].file)])
      assert.deepStrictEqual(traceNames(yield* spool.claim(10)), ["trace-1"])

      const listed = yield* Effect.promise(() => Spool.destinations(root))
      assert.deepStrictEqual(listed, [{ directory: spool.directory, record }])
      assert.deepStrictEqual(yield* Effect.promise(() => Spool.destinations(path.join(root, "none"))), [])
    }))

  it.live("takes over a claim whose process is gone or whose lease ran out, and leaves a live one alone", () =>
    Effect.gen(function*() {
      const spool = Spool.open(temporary(), record, roomy)
      yield* spool.write(entries(trace(1), trace(2), trace(3)))
      const [one, two, three] = names(spool.directory)
      const host = os.hostname().replace(/[^0-9a-zA-Z_-]/g, "_")
      const gone = spawnSync(process.execPath, ["-e", "0"]).pid!
      const later = Date.now() + 600_000
      const claim = (name: string, claimHost: string, pid: number, until: number) =>
        fs.renameSync(
          path.join(spool.directory, name),
          path.join(spool.directory, `${name}.claim.${claimHost}.${pid}.${until}`)
        )
      claim(one, host, gone, later)
      // (another host's lease is judged by how long this process has seen it: see spoolClaim.test.ts)
      claim(two, host, process.ppid, Date.now() - 1)
      claim(three, host, process.ppid, later)
      assert.isTrue(Spool.abandoned(`${one}.claim.${host}.${gone}.${later}`, Date.now()))
      assert.isFalse(Spool.abandoned(`${three}.claim.${host}.${process.ppid}.${later}`, Date.now()))
      assert.isFalse(Spool.abandoned(`another-host.${one}`, Date.now()))
      assert.strictEqual(yield* Effect.promise(() => Spool.waitingCount(spool.directory)), 2)
      const taken = yield* spool.claim(10)
      assert.deepStrictEqual(traceNames(taken), ["trace-1", "trace-2"])
      assert.deepStrictEqual(taken.map((item) => path.basename(item.file)), [one, two])
      yield* Effect.forEach(taken, (item) => item.release)
      assert.includeMembers(names(spool.directory), [one, two])
    }))

  it.live("keeps within its size, the oldest going first, and counts what it removed", () =>
    Effect.gen(function*() {
      const size = Buffer.byteLength(traceToJson(trace(1)))
      const spool = Spool.open(temporary(), record, { maxBytes: size * 3 + 200, maxAgeMillis: 60_000 })
      const first = yield* spool.write(entries(trace(1), trace(2)))
      assert.deepStrictEqual(first, { written: 2, evicted: 0, expired: 0 })
      // over its size: measured again at once, whatever the time since the last measure
      const second = yield* spool.write(entries(trace(3), trace(4), trace(5)))
      assert.deepStrictEqual(second, { written: 3, evicted: 2, expired: 0 })
      assert.deepStrictEqual(traceNames(yield* spool.claim(10)), ["trace-3", "trace-4", "trace-5"])
    }))

  it.live("removes traces older than its age limit, counted, and rejected ones go before waiting ones", () =>
    Effect.gen(function*() {
      const root = temporary()
      const spool = Spool.open(root, record, roomy)
      yield* spool.write(entries(trace(1), trace(2)))
      // a trace's age is told by its name (when it was spooled), not by the file's times
      const [first] = names(spool.directory)
      const spooledAt = Number(first.slice(0, 16)) - 120_000_000
      fs.renameSync(
        path.join(spool.directory, first),
        path.join(spool.directory, `${String(spooledAt).padStart(16, "0")}${first.slice(16)}`)
      )
      // a fresh process measures the spool on its first write
      const written = yield* Spool.open(root, record, roomy).write(entries(trace(3)))
      assert.deepStrictEqual(written, { written: 1, evicted: 0, expired: 1 })
      assert.deepStrictEqual(traceNames(yield* spool.claim(10)).sort(), ["trace-2", "trace-3"])

      const size = Buffer.byteLength(traceToJson(trace(1)))
      const small = Spool.open(temporary(), record, { maxBytes: size * 2 + 100, maxAgeMillis: 60_000 })
      yield* small.write(entries(trace(1)))
      const [refused] = yield* small.claim(1)
      yield* refused.reject
      const full = yield* small.write(entries(trace(2), trace(3)))
      // the rejected trace made room first; it is not counted as a dropped waiting trace
      assert.deepStrictEqual(full, { written: 2, evicted: 0, expired: 0 })
      assert.deepStrictEqual(fs.readdirSync(path.join(small.directory, "rejected")), [])
    }))

  it.live("sets a file that is not a trace aside instead of sending it", () =>
    Effect.gen(function*() {
      const spool = Spool.open(temporary(), record, roomy)
      yield* spool.write(entries(trace(2)))
      fs.writeFileSync(path.join(spool.directory, "000000000000001-tr-damaged.json"), "{\"info\": ")
      const claimed = yield* spool.claim(10)
      assert.deepStrictEqual(traceNames(claimed), ["trace-2"])
      assert.deepStrictEqual(fs.readdirSync(path.join(spool.directory, "rejected")), [
        "000000000000001-tr-damaged.json"
      ])
    }))

  it.live("fails with a typed error when the spool cannot be written", () =>
    Effect.gen(function*() {
      const blocked = path.join(temporary(), "file")
      fs.writeFileSync(blocked, "")
      const error = yield* Effect.flip(Spool.open(blocked, record, roomy).write(entries(trace(1))))
      assert.strictEqual(error._tag, "ExportError")
      assert.strictEqual(error.reason, "spool")
      assert.isFalse(error.retryable)
      assert.include(error.detail, "cannot write traces to the spool")
    }))
})

describe("spool entries", () => {
  it("put attachment content back inline and keep the ids, read back from the file as written", () => {
    const hex = "ab".repeat(16)
    const inputs = { question: "what is this?", image: `data:image/png;base64,${PNG}` }
    const original = trace(7)
    const spans = [span(hex, "00000000000000aa", null, { [SpanAttributeKey.INPUTS]: inputs })]
    let id = 0
    const extracted = extractAttachments(spans, `tr-${hex}`, { maxSize: undefined, newId: () => `id-${++id}` })
    assert.strictEqual(extracted.attachments.length, 1)
    const prepared: Trace = { ...original, spans: extracted.spans, attachments: extracted.attachments }

    const entry = toEntry(prepared)
    assert.deepStrictEqual(entry.attachmentIds, ["id-1"])
    assert.deepStrictEqual(entry.trace.spans[0].attributes[SpanAttributeKey.INPUTS], inputs)
    assert.isUndefined(entry.trace.attachments)

    const read = readTraceFile(Spool.entryToJson(entry))
    assert.isTrue(Either.isRight(read))
    assert.deepStrictEqual(Either.getOrThrow(read), { trace: entry.trace, attachmentIds: ["id-1"] })
    const plain = toEntry(original)
    assert.deepStrictEqual(Either.getOrThrow(readTraceFile(Spool.entryToJson(plain))), {
      trace: original,
      attachmentIds: []
    })
  })

  it("says what is wrong with a file that is not a trace", () => {
    const notJson = readTraceFile("{")
    assert.isTrue(Either.isLeft(notJson) && notJson.left.startsWith("not JSON"))
    const notTrace = readTraceFile("{\"info\": {\"trace_id\": 1}}")
    assert.isTrue(Either.isLeft(notTrace) && notTrace.left.startsWith("not an MLflow trace file"))
  })
})
