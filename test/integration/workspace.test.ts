import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import * as Harness from "../harness/mlflow.js"
import { root, run } from "../support/spawn.js"
import { ownServer, python, uniqueName } from "./helpers.js"

/** What MLflow's Python client finds in a workspace: the experiment's id and the trace's name. */
const lookUp = (url: string, workspace: string, experimentName: string, traceId: string) =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
trace = mlflow.get_trace(${JSON.stringify(traceId)}) if exp is not None else None
print(json.dumps({"experiment": exp is not None, "trace": None if trace is None else trace.info.tags.get("mlflow.traceName")}))
`,
    { MLFLOW_TRACKING_URI: url, MLFLOW_WORKSPACE: workspace }
  )

const spoolService = path.join(root, "test/support/services/spoolService.ts")

describe("MLflow workspaces (a server run with --enable-workspaces)", () => {
  it.scopedLive(
    "traces land in MLFLOW_WORKSPACE's workspace, as MLflow's client sends it",
    () =>
      Effect.gen(function*() {
        const server = yield* ownServer({ workspaces: true })
        const workspace = uniqueName("team").replace(/[^a-z0-9-]/g, "-")
        yield* python(`import mlflow\nmlflow.create_workspace(${JSON.stringify(workspace)})\nprint("null")`, {
          MLFLOW_TRACKING_URI: server.url
        })
        const experimentName = uniqueName("in-workspace")
        const { stats, traceId } = yield* Effect.gen(function*() {
          yield* Effect.succeed("ok").pipe(Mlflow.span("answer", { inputs: { q: "?" } }))
          const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
          yield* Mlflow.flush("60 seconds")
          return { traceId, stats: yield* Effect.flatMap(MlflowTracing.MlflowTracing, (tracing) => tracing.stats) }
        }).pipe(
          Effect.provide(
            // padded, as an environment variable may be: MLflow's client trims it too
            MlflowTracing.layer({ trackingUri: server.url, experimentName, workspace: ` ${workspace} ` }).pipe(
              Layer.orDie
            )
          )
        )
        expect(stats).toMatchObject({ exported: 1, failed: 0 })
        expect(yield* lookUp(server.url, workspace, experimentName, traceId)).toEqual({
          experiment: true,
          trace: "answer"
        })
        expect(yield* lookUp(server.url, "default", experimentName, traceId)).toEqual({
          experiment: false,
          trace: null
        })
      }),
    180_000
  )

  it.scopedLive(
    "traces spooled in one workspace are replayed into that workspace only, not another sharing the spool",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-workspace-spool-"))
        const port = yield* Effect.promise(() => Harness.freePort())
        const running: { server?: Harness.RunningServer } = {}
        const start = () =>
          Harness.startServer({ dir, port, workspaces: true }).then((server) => running.server = server)
        const stop = () => running.server?.stop().then(() => delete running.server)
        const server = yield* Effect.acquireRelease(Effect.promise(start), () => Effect.promise(async () => stop()))
        const [teamA, teamB] = ["team-a", "team-b"].map((team) => uniqueName(team).replace(/[^a-z0-9-]/g, "-"))
        yield* python(
          `import mlflow\nfor name in ${
            JSON.stringify([teamA, teamB])
          }:\n    mlflow.create_workspace(name)\nprint("null")`,
          { MLFLOW_TRACKING_URI: server.url }
        )
        const experimentName = uniqueName("shared-name")
        const env = {
          MLFLOW_TRACKING_URI: server.url,
          MLFLOW_EXPERIMENT_NAME: experimentName,
          EFFECT_MLFLOW_SPOOL_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-spool-")),
          EFFECT_MLFLOW_LOCAL_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-empty-local-"))
        }
        const service = (more: Readonly<Record<string, string>>) =>
          Effect.map(run(path.join(root, "node_modules/.bin/tsx"), [spoolService], { ...env, ...more }), (ran) => {
            expect(ran.code, ran.stderr).toBe(0)
            return JSON.parse(ran.stdout.trim().split("\n").at(-1)!) as { traceIds: Array<string>; stats: any }
          })

        // team-a's traces are spooled while the server is away
        yield* Effect.promise(async () => stop())
        const produced = yield* service({ MLFLOW_WORKSPACE: teamA, MODE: "produce", COUNT: "20" })
        expect(produced.stats.spooled).toBe(20)
        yield* Effect.promise(start)

        // a process of team-b, same server, experiment name and spool, leaves them alone
        const other = yield* service({ MLFLOW_WORKSPACE: teamB, MODE: "replay", EXPECT: "1", WAIT_MILLIS: "30000" })
        expect(other.stats.replayed).toBe(0)
        // team-a's own process sends them
        const own = yield* service({ MLFLOW_WORKSPACE: teamA, MODE: "replay", EXPECT: "20" })
        expect(own.stats.replayed).toBe(20)

        const found = (workspace: string) =>
          python(
            `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = [] if exp is None else mlflow.search_traces(experiment_ids=[exp.experiment_id], return_type="list")
print(json.dumps(sorted(t.info.trace_id for t in traces)))
`,
            { MLFLOW_TRACKING_URI: server.url, MLFLOW_WORKSPACE: workspace }
          )
        expect(yield* found(teamA)).toEqual([...produced.traceIds].sort())
        expect(yield* found(teamB)).toEqual([])
      }),
    900_000
  )
})
