/**
 * What a large spool costs the process that drains it, with 1,000, 10,000 and 40,000 waiting traces:
 *
 * - claim: milliseconds per claim of 50 traces (the first claim of a process, which lists the folder,
 *   and the median of the next ones);
 * - drain: traces per second moved out of the spool into a loopback sink (in this process, storing
 *   nothing: what is measured is the spool's own cost), through the replay's `deliver` as the
 *   exporter runs it, for at most DRAIN_SECONDS;
 * - the event loop's delay meanwhile (`perf_hooks.monitorEventLoopDelay`): p50, p99 and max, ms; and
 *   first, the same for an idle second of this process: the machine's own noise (a loaded machine
 *   delays every loop).
 *
 * "before" is `src/internal/sinks/spool.ts` of BEFORE_REF (default `main`), copied beside the current
 * one for the run and removed after; "after" is the working tree's. Both run in one process, the
 * sizes interleaved.
 *
 * - with the sink answering at once (the spool's cost alone, the loop never idle) and after
 *   SINK_MILLIS (a destination that takes time to store a batch, as a real one does).
 *
 * Run: npm run bench:spool   (SIZES=1000,10000,40000 DRAIN_SECONDS=20 SINK_MILLIS=0,50 BEFORE_REF=main to change them)
 */
import { Duration, Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { deliver, timedOutError } from "../src/internal/export/replay.js"
import type { Sink } from "../src/internal/export/sink.js"
import { type Spool, toEntry } from "../src/internal/export/spool.js"
import * as After from "../src/internal/sinks/spool.js"
import { numberedTrace } from "../test/support/numberedTraces.js"

const SIZES = (process.env.SIZES ?? "1000,10000,40000").split(",").map(Number)
const DRAIN_SECONDS = Number(process.env.DRAIN_SECONDS ?? 20)
const SINK_MILLIS = (process.env.SINK_MILLIS ?? "0,50").split(",").map(Number)
const BEFORE_REF = process.env.BEFORE_REF ?? "main"
const BATCH = 50
const CLAIMS = 10

type Open = (spool: string, record: After.DestinationRecord, bounds: After.Bounds) => Spool

const root = path.resolve(import.meta.dirname, "..")
const beforeFile = path.join(root, "src/internal/sinks/spool.bench-before.ts")

const loadBefore = async (): Promise<Open | undefined> => {
  try {
    const text = execFileSync("git", ["show", `${BEFORE_REF}:src/internal/sinks/spool.ts`], { cwd: root })
    fs.writeFileSync(beforeFile, text)
    return (await import(beforeFile)).open as Open
  } catch (error) {
    console.error(`no "before" column: ${error instanceof Error ? error.message : String(error)}`)
    return undefined
  } finally {
    fs.rmSync(beforeFile, { force: true })
  }
}

const record = After.recordFor("http://127.0.0.1:5000", { _tag: "Id", id: "1" })
const bounds = { maxBytes: 4 * 1024 ** 3, maxAgeMillis: 7 * 86_400_000 }
const texts = Array.from({ length: 64 }, (_, i) => After.entryToJson(toEntry(numberedTrace(i + 1))))

/** A spool folder with `count` waiting traces, named as the spool names them. */
const filled = (count: number): string => {
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-bench-spool-"))
  const directory = path.join(spool, After.destinationKey(record))
  fs.mkdirSync(directory, { recursive: true })
  fs.writeFileSync(path.join(directory, "destination.json"), JSON.stringify(record))
  const start = Date.now() * 1000 - count
  for (let n = 0; n < count; n++) {
    const id = `tr-${n.toString(16).padStart(32, "0")}`
    fs.writeFileSync(path.join(directory, `${String(start + n).padStart(16, "0")}-${id}.json`), texts[n % 64])
  }
  return spool
}

/** A loopback sink that stores nothing and answers after `millis`. */
const sinkAnsweringIn = (millis: number): Sink => ({
  export: () => millis === 0 ? Effect.void : Effect.sleep(Duration.millis(millis)),
  exportLateSpans: () => Effect.void
})
const options = {
  within: <A, E>(effect: Effect.Effect<A, E>) => effect,
  timedOut: timedOutError(Duration.seconds(30)),
  attachments: undefined
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

interface Row {
  readonly firstClaimMs: number
  readonly claimMs: number
  readonly drained: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

const measure = (open: Open, count: number, sinkMillis: number): Effect.Effect<Row> =>
  Effect.gen(function*() {
    const spool = filled(count)
    const opened = open(spool, record, bounds)
    const timed = Effect.gen(function*() {
      const start = performance.now()
      const claimed = yield* Effect.orDie(opened.claim(BATCH))
      const ms = performance.now() - start
      yield* Effect.forEach(claimed, (item) => item.release, { discard: true })
      return ms
    })
    const firstClaimMs = yield* timed
    const claims: Array<number> = []
    for (let i = 0; i < CLAIMS; i++) claims.push(yield* timed)

    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    const start = performance.now()
    let drained = 0
    while (performance.now() - start < DRAIN_SECONDS * 1000) {
      const claimed = yield* Effect.orDie(opened.claim(BATCH))
      if (claimed.length === 0) break
      const delivered = yield* Effect.orDie(deliver(claimed, { ...options, sink: sinkAnsweringIn(sinkMillis) }))
      drained += delivered.sent
    }
    const seconds = (performance.now() - start) / 1000
    delay.disable()
    fs.rmSync(spool, { recursive: true, force: true })
    const ms = (nanos: number) => nanos / 1e6
    return {
      firstClaimMs,
      claimMs: median(claims),
      drained,
      perSecond: drained / seconds,
      p50: ms(delay.percentile(50)),
      p99: ms(delay.percentile(99)),
      max: ms(delay.max)
    }
  })

/** The event loop's delay over `millis` of doing nothing. */
const idle = (millis: number) =>
  Effect.gen(function*() {
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    yield* Effect.sleep(Duration.millis(millis))
    delay.disable()
    return [50, 99].map((p) => (delay.percentile(p) / 1e6).toFixed(1)).join(" / ") +
      ` / ${(delay.max / 1e6).toFixed(1)}`
  })

const main = Effect.gen(function*() {
  const before = yield* Effect.promise(loadBefore)
  console.log(`Idle event loop, p50 / p99 / max ms: ${yield* idle(2000)}`)
  const sides: ReadonlyArray<readonly [string, Open]> = [
    ...(before === undefined ? [] : [[`before (${BEFORE_REF})`, before] as const]),
    ["after", After.open]
  ]
  console.log(
    `Spool drain into a loopback sink (in-process, stores nothing, answers after the time shown), claims of ${BATCH}, drain at most ${DRAIN_SECONDS} s`
  )
  console.log(
    "| traces waiting | sink answers in ms | code | first claim ms | next claims ms (median) | drained | traces/s | loop delay p50 / p99 / max ms |"
  )
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |")
  for (const count of SIZES) {
    for (const sinkMillis of SINK_MILLIS) {
      for (const [name, open] of sides) {
        const row = yield* measure(open, count, sinkMillis)
        console.log(
          `| ${count} | ${sinkMillis} | ${name} | ${row.firstClaimMs.toFixed(1)} | ${
            row.claimMs.toFixed(1)
          } | ${row.drained} | ${row.perSecond.toFixed(0)} | ${row.p50.toFixed(1)} / ${row.p99.toFixed(1)} / ${
            row.max.toFixed(1)
          } |`
        )
      }
    }
  }
})

Effect.runPromise(main)
