import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Harness from "../harness/mlflow.js"
import { scopedProxy, type Seen } from "../support/proxy.js"
import { bin, root, run, spawned } from "../support/spawn.js"
import { fullDiskUnavailable, mountTmpfs, unmountAll } from "../support/tmpfs.js"
import { postJson, python, uniqueName } from "./helpers.js"

const tsx = path.join(root, "node_modules/.bin/tsx")

const service = (env: Readonly<Record<string, string>>) =>
  Effect.map(run(tsx, [path.join(root, "test/support/services/spoolService.ts")], env), (ran) => {
    expect(ran.code, ran.stderr).toBe(0)
    return JSON.parse(ran.stdout.trim().split("\n").at(-1)!) as { traceIds: Array<string>; stats: any }
  })

/** A server on a fixed port and directory, so it can be stopped and started again with its store. */
const restartable = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-server-"))
    const port = await Harness.freePort()
    let running: Harness.RunningServer | undefined = await Harness.startServer({ dir, port })
    return {
      url: running.url,
      stop: async () => {
        await running?.stop()
        running = undefined
      },
      start: async () => {
        running = await Harness.startServer({ dir, port })
      },
      release: () => running?.stop()
    }
  }),
  (server) => Effect.promise(async () => server.release())
)

/** A forwarding proxy that, once `hold` is set, forwards the first `forward` StartTraceV3 calls and holds the rest forever. */
const stallingProxy = (target: string) => {
  const state = { hold: false, forward: 0, startTraces: 0, forwardedDone: 0 }
  const isStart = (request: Seen) => request.method === "POST" && request.url.split("?")[0] === "/api/3.0/mlflow/traces"
  return Effect.map(
    scopedProxy(
      target,
      (request) => state.hold && isStart(request) && ++state.startTraces > state.forward ? "hold" : undefined,
      (request) => {
        if (state.hold && isStart(request)) state.forwardedDone++
      }
    ),
    (proxy) => ({ url: proxy.url, state })
  )
}

/** What MLflow's Python client finds in the experiment: each trace id with its number of spans. */
const stored = (url: string, experimentId: string) =>
  python(
    `
import json, mlflow
traces = mlflow.search_traces(experiment_ids=[${JSON.stringify(experimentId)}], return_type="list", max_results=5000)
print(json.dumps([[t.info.trace_id, len(t.data.spans), t.info.state] for t in traces]))
`,
    { MLFLOW_TRACKING_URI: url }
  ) as Effect.Effect<Array<[string, number, string]>>

const waitingFiles = (spool: string) =>
  fs.readdirSync(spool, { withFileTypes: true }).filter((entry) => entry.isDirectory()).flatMap((entry) =>
    fs.readdirSync(path.join(spool, entry.name)).filter((name) => /^\d+-tr-[0-9a-f]+\.json$/.test(name))
  )

/** The trace ids of the waiting files (`<spooled-at>-<trace id>.json`). */
const waitingIds = (spool: string) =>
  waitingFiles(spool).map((name) => name.slice(name.indexOf("-") + 1, -".json".length))

const claimFiles = (spool: string) =>
  fs.readdirSync(spool, { recursive: true }).map(String).filter((name) => name.includes(".claim."))

const exactlyOnce = (rows: Array<[string, number, string]>, ids: ReadonlyArray<string>) => {
  const found = rows.map(([id]) => id).sort()
  expect(found).toEqual([...ids].sort())
  expect(new Set(found).size).toBe(found.length)
  for (const [, spans, state] of rows) {
    expect(spans).toBe(2)
    expect(state).toBe("OK")
  }
}

/** A new experiment on `server`, an empty spool and local store, and the environment that names them. */
const fresh = (server: { readonly url: string }, sendTo: string, prefix: string) =>
  Effect.map(
    postJson(`${server.url}/api/2.0/mlflow/experiments/create`, { name: uniqueName(prefix) }),
    ({ experiment_id: experimentId }: { experiment_id: string }) => {
      const spool = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-"))
      const env = {
        MLFLOW_TRACKING_URI: sendTo,
        MLFLOW_EXPERIMENT_ID: experimentId,
        EFFECT_MLFLOW_SPOOL_DIR: spool,
        EFFECT_MLFLOW_LOCAL_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-empty-local-"))
      }
      return { experimentId, spool, env }
    }
  )

describe("the durable spool against a real server that goes away", () => {
  it.scopedLive(
    "traces made while the server is away reach it once it is back: by a new process, and by push",
    () =>
      Effect.gen(function*() {
        const server = yield* restartable
        const { experimentId, spool, env: base } = yield* fresh(server, server.url, "spool")
        const env = {
          ...base,
          // small enough that some traces are pushed out of the full queue (and spooled from there)
          MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE: "25"
        }

        // 1. away: the process exits while the server is down; nothing is lost, everything is spooled
        yield* Effect.promise(server.stop)
        const first = yield* service({ ...env, MODE: "produce", COUNT: "40" })
        expect(first.stats.spooled).toBe(40)
        expect(first.stats.exported).toBe(0)
        expect(first.stats.failed).toBe(0)
        expect(Object.values(first.stats.dropped).reduce((a: number, b: any) => a + b, 0)).toBe(0)
        expect(waitingFiles(spool)).toHaveLength(40)

        // 2. back: a new process with the same spool sends them in the background
        yield* Effect.promise(server.start)
        const replayer = yield* service({ ...env, MODE: "replay", EXPECT: "40" })
        expect(replayer.stats.replayed).toBe(40)
        expect(waitingFiles(spool)).toHaveLength(0)
        exactlyOnce(yield* stored(server.url, experimentId), first.traceIds)

        // 3. away again, then `effect-mlflow push`; a second push finds nothing left to send
        yield* Effect.promise(server.stop)
        const second = yield* service({ ...env, MODE: "produce", COUNT: "15" })
        expect(second.stats.spooled).toBe(15)
        yield* Effect.promise(server.start)
        const pushed = yield* run(process.execPath, [bin, "push"], env)
        expect(pushed.code, pushed.stderr).toBe(0)
        expect(pushed.stdout).toContain("15 of 15 traces stored")
        const again = yield* run(process.execPath, [bin, "push"], env)
        expect(again.code, again.stderr).toBe(0)
        expect(again.stdout).toContain("0 of 0 traces stored")
        exactlyOnce(yield* stored(server.url, experimentId), [...first.traceIds, ...second.traceIds])
      }),
    300_000
  )

  /**
   * 30 traces spooled while the server was away, the server back behind a stalling proxy that, once
   * `halfway` runs, lets a batch's spans and 10 of its 30 StartTraceV3 calls through and holds the rest.
   */
  const spooledAway = (prefix: string) =>
    Effect.gen(function*() {
      const server = yield* restartable
      const proxy = yield* stallingProxy(server.url)
      const { env, experimentId, spool } = yield* fresh(server, proxy.url, prefix)
      yield* Effect.promise(server.stop)
      const produced = yield* service({ ...env, MODE: "produce", COUNT: "30" })
      expect(produced.stats.spooled).toBe(30)
      yield* Effect.promise(server.start)
      proxy.state.hold = true
      proxy.state.forward = 10
      const halfway = (who: string) =>
        Effect.gen(function*() {
          for (let waited = 0; proxy.state.forwardedDone < 10 || proxy.state.startTraces < 11; waited += 100) {
            if (waited > 120_000) throw new Error(`${who} did not get far enough: ${JSON.stringify(proxy.state)}`)
            yield* Effect.sleep("100 millis")
          }
        })
      return { server, proxy, env, experimentId, spool, produced, halfway }
    })

  const stoppedPush = (signal: "SIGKILL" | "SIGINT") =>
    Effect.gen(function*() {
      const { env, experimentId, halfway, produced, proxy, server, spool } = yield* spooledAway("spool-stop")
      const stopped = spawned(process.execPath, [bin, "push"], env)
      yield* halfway("push")
      stopped.child.kill(signal)
      const ended = yield* Effect.promise(() => stopped.done)
      if (signal === "SIGKILL") {
        const died: ChildProcess["signalCode"] = ended.signal
        expect(died).toBe("SIGKILL")
        expect(waitingFiles(spool)).toHaveLength(0) // all claimed by the dead process
      } else {
        // Ctrl-C: the batch in flight is put back before the command exits, nothing is left claimed
        expect(ended.code, ended.stderr).toBe(130)
        expect(waitingFiles(spool)).toHaveLength(30)
        expect(claimFiles(spool)).toEqual([])
      }

      proxy.state.hold = false
      const resumed = yield* run(process.execPath, [bin, "push"], env)
      expect(resumed.code, resumed.stderr).toBe(0)
      expect(resumed.stdout).toContain("30 of 30 traces stored")
      expect(resumed.stdout).toContain("10 already there")
      exactlyOnce(yield* stored(server.url, experimentId), produced.traceIds)
      expect(claimFiles(spool)).toEqual([])
    })

  it.scopedLive(
    "a push killed (SIGKILL) in the middle: the next push stores every trace once",
    () => stoppedPush("SIGKILL"),
    300_000
  )

  it.scopedLive(
    "a push stopped with Ctrl-C (SIGINT) in the middle: exits 130, claims back, the next push completes",
    () => stoppedPush("SIGINT"),
    300_000
  )

  it.scopedLive(
    "two processes replaying one spool at once: every trace is stored once, and their counts add up",
    () =>
      Effect.gen(function*() {
        const server = yield* restartable
        const { env, experimentId, spool } = yield* fresh(server, server.url, "spool-two")
        yield* Effect.promise(server.stop)
        const produced = yield* service({ ...env, MODE: "produce", COUNT: "60" })
        expect(produced.stats.spooled).toBe(60)
        yield* Effect.promise(server.start)

        // small batches, so that the two take turns claiming from the same folder
        const drain = { ...env, MODE: "drain", BATCH_SIZE: "5" }
        const [a, b] = yield* Effect.all([service(drain), service(drain)], { concurrency: 2 })
        expect(a.stats.replayed + b.stats.replayed).toBe(60)
        expect(a.stats.failed + b.stats.failed).toBe(0)
        expect(waitingFiles(spool)).toEqual([])
        expect(claimFiles(spool)).toEqual([])
        exactlyOnce(yield* stored(server.url, experimentId), produced.traceIds)
      }),
    300_000
  )

  it.scopedLive(
    "a process killed (SIGKILL) while it replays in the background: the next one stores every trace once",
    () =>
      Effect.gen(function*() {
        const { env, experimentId, halfway, produced, proxy, server, spool } = yield* spooledAway("spool-kill")
        // one batch of 30 claimed, then held halfway
        // node itself, not the tsx wrapper: the process killed is the one that claimed
        const replaying = spawned(process.execPath, [
          "--import",
          "tsx",
          path.join(root, "test/support/services/spoolService.ts")
        ], {
          ...env,
          MODE: "replay",
          EXPECT: "30",
          BATCH_SIZE: "30"
        })
        yield* halfway("replay")
        expect(claimFiles(spool)).toHaveLength(30)
        replaying.child.kill("SIGKILL")
        const died: ChildProcess["signalCode"] = (yield* Effect.promise(() => replaying.done)).signal
        expect(died).toBe("SIGKILL")
        expect(claimFiles(spool)).toHaveLength(30) // the dead process's claims, taken over below

        proxy.state.hold = false
        const next = yield* service({ ...env, MODE: "replay", EXPECT: "30" })
        expect(next.stats.replayed).toBe(30)
        expect(next.stats.failed).toBe(0)
        expect(waitingFiles(spool)).toEqual([])
        expect(claimFiles(spool)).toEqual([])
        exactlyOnce(yield* stored(server.url, experimentId), produced.traceIds)
      }),
    300_000
  )
})

describe.skipIf(fullDiskUnavailable !== undefined)("the durable spool on a disk that fills up", () => {
  afterAll(unmountAll)

  it.scopedLive(
    "the traces written before the disk filled are counted as spooled, and a later process stores exactly those",
    () =>
      Effect.gen(function*() {
        const server = yield* restartable
        const { env: base, experimentId } = yield* fresh(server, server.url, "spool-full")
        const spool = mountTmpfs(72 * 1024)
        const env = { ...base, EFFECT_MLFLOW_SPOOL_DIR: spool }
        yield* Effect.promise(server.stop)
        const produced = yield* service({ ...env, MODE: "produce", COUNT: "100" })
        const written = waitingIds(spool)
        expect(written.length).toBeGreaterThan(5)
        expect(written.length).toBeLessThan(100)
        expect(produced.stats.spooled).toBe(written.length)
        const dropped = Object.values(produced.stats.dropped).reduce((a: number, b: any) => a + b, 0)
        expect(produced.stats.spooled + produced.stats.failed + dropped).toBe(100)
        expect(fs.readdirSync(path.join(spool, fs.readdirSync(spool)[0])).filter((name) => name.startsWith(".")))
          .toEqual([])

        yield* Effect.promise(server.start)
        const replayer = yield* service({ ...env, MODE: "replay", EXPECT: String(written.length) })
        expect(replayer.stats.replayed).toBe(written.length)
        expect(waitingFiles(spool)).toEqual([])
        exactlyOnce(yield* stored(server.url, experimentId), written)
      }),
    // a server stopped and started again, three processes: slow on a loaded machine
    600_000
  )
})
