import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { traceToJson } from "../../src/internal/format/traceJson.js"
import { numberedTrace } from "../support/numberedTraces.js"
import { scopedProxy } from "../support/proxy.js"
import { cli } from "../support/spawn.js"
import { mlflowUrl, postJson, uniqueName } from "./helpers.js"

/**
 * A local store of `valid` traces and `broken` files that fail to parse if read: a command that
 * reads a broken file says `skipped <file>`, so the files it reads show in its output. The broken
 * files are the oldest, and their names sort after the traces'.
 */
const storeWithBrokenFiles = (valid: number, broken: number) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-cli-reads-"))
  const now = Date.now() / 1000
  const ids: Array<string> = []
  for (let n = 1; n <= valid; n++) {
    const trace = numberedTrace(n)
    const file = path.join(dir, `${trace.info.traceId}.json`)
    fs.writeFileSync(file, traceToJson(trace))
    fs.utimesSync(file, now - valid + n, now - valid + n) // trace n stored n seconds after the first
    ids.push(trace.info.traceId)
  }
  for (let n = 0; n < broken; n++) {
    const file = path.join(dir, `zz-broken-${n}.json`)
    fs.writeFileSync(file, "{\"info\": ")
    fs.utimesSync(file, 1_000_000_000, 1_000_000_000)
  }
  return { dir, ids }
}

const headers = (stdout: string) => stdout.split("\n").filter((line) => line.startsWith("tr-"))

describe("the command reads only the files it needs", () => {
  it.effect(
    "view reads the traces it shows: the newest N, or the one asked for, not the whole store",
    () =>
      Effect.gen(function*() {
        const { dir, ids } = storeWithBrokenFiles(3, 300)
        const last = yield* cli(["view", "--last", "2", "--dir", dir])
        expect(last.code, last.stderr).toBe(0)
        expect(last.stderr).not.toContain("skipped")
        expect(headers(last.stdout).map((line) => line.split(" ")[0])).toEqual([ids[2], ids[1]])

        const one = yield* cli(["view", ids[0], "--dir", dir])
        expect(one.code, one.stderr).toBe(0)
        expect(one.stderr).not.toContain("skipped")
        expect(headers(one.stdout).map((line) => line.split(" ")[0])).toEqual([ids[0]])

        // asked for more than the store holds, it reads them all, and says which it could not read
        const all = yield* cli(["view", "--last", "1000", "--dir", dir])
        expect(all.code, all.stderr).toBe(0)
        expect(all.stderr.split("\n").filter((line) => line.includes("skipped"))).toHaveLength(300)
        expect(headers(all.stdout)).toHaveLength(3)
      }),
    300_000
  )

  for (const failure of ["failing", "hung"] as const) {
    it.scopedLive(
      `push against a ${failure} server stops at the first batch, exits 1 with one line, and reads no further`,
      () =>
        Effect.gen(function*() {
          const url = mlflowUrl()
          const { experiment_id: experimentId } = yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, {
            name: uniqueName(`cli-${failure}`)
          })
          const proxy = yield* scopedProxy(
            url,
            () => failure === "hung" ? "hold" : { status: 503, body: "{\"error_code\": \"TEMPORARILY_UNAVAILABLE\"}" }
          )
          // 60 traces: the first batch of 50, then the broken files in the next batches
          const { dir } = storeWithBrokenFiles(60, 200)
          const pushed = yield* cli(["push"], {
            MLFLOW_TRACKING_URI: proxy.url,
            MLFLOW_EXPERIMENT_ID: experimentId,
            EFFECT_MLFLOW_LOCAL_DIR: dir,
            MLFLOW_HTTP_REQUEST_TIMEOUT: "1"
          })
          expect(pushed.code, pushed.stderr).toBe(1)
          const lines = pushed.stderr.trimEnd().split("\n")
          expect(lines, pushed.stderr).toHaveLength(1)
          expect(lines[0]).toMatch(/^effect-mlflow: stopped: .*run push again/)
          expect(pushed.stdout).toContain("0 of ")
        }),
      300_000
    )
  }
})
