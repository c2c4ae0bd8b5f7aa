import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalStore from "../../src/internal/sinks/localStore.js"
import type { Trace } from "../../src/Trace.js"
import { lateSpan } from "../support/localStoreWriter.js"

const TRACE = "0123456789abcdef0123456789abcdef"

const trace: Trace = {
  info: {
    traceId: `tr-${TRACE}`,
    clientRequestId: undefined,
    experimentId: "0",
    requestTimeMs: 0,
    executionDurationMs: 1,
    state: "OK",
    requestPreview: "",
    responsePreview: "",
    tags: {},
    metadata: {}
  },
  spans: [lateSpan(TRACE, "00000000000000aa")]
}

const otherProcess = (directory: string, prefix: string, count: number) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(import.meta.dirname, "../support/localStoreWriter.ts"),
        directory,
        TRACE,
        prefix,
        String(count)
      ],
      { stdio: ["ignore", "ignore", "pipe"] }
    )
    let stderr = ""
    child.stderr.on("data", (chunk) => stderr += chunk)
    child.on("exit", (code) => code === 0 ? resolve() : reject(new Error(`writer exited ${code}: ${stderr}`)))
  })

describe("the local store never loses or corrupts a span", () => {
  it.live(
    "late spans spliced at once by many writers in this process and another one are all kept",
    () =>
      Effect.gen(function*() {
        const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-local-race-"))
        const sink = yield* LocalStore.makeSink(directory)
        yield* sink.export([trace])
        const ours = Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => sink.exportLateSpans(`tr-${TRACE}`, [lateSpan(TRACE, `a${String(i).padStart(15, "0")}`)]),
          { concurrency: "unbounded", discard: true }
        )
        yield* Effect.all([ours, Effect.promise(() => otherProcess(directory, "b", 40))], { concurrency: "unbounded" })
        const files = fs.readdirSync(directory)
        assert.deepStrictEqual(files, [`tr-${TRACE}.json`], "no temporary or lock file is left")
        const written = JSON.parse(fs.readFileSync(path.join(directory, files[0]), "utf8"))
        const ids = written.data.spans.map((span: any) => span.span_id)
        assert.strictEqual(ids.length, 81)
        assert.strictEqual(new Set(ids).size, 81)
        fs.rmSync(directory, { recursive: true, force: true })
      }),
    60_000
  )

  it.live("a retried write of a trace adds no span twice", () =>
    Effect.gen(function*() {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-local-retry-"))
      const sink = yield* LocalStore.makeSink(directory)
      yield* sink.export([trace])
      yield* sink.export([trace])
      const written = JSON.parse(fs.readFileSync(path.join(directory, `tr-${TRACE}.json`), "utf8"))
      assert.strictEqual(written.data.spans.length, 1)
      fs.rmSync(directory, { recursive: true, force: true })
    }))
})
