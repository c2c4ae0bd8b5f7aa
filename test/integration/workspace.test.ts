import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
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
})
