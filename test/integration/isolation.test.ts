import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { scopedProxy } from "../support/proxy.js"
import { exportOneBatch, mlflowUrl, python, uniqueName } from "./helpers.js"

/** Traces of an experiment as MLflow's Python client reads them: name and root span inputs. */
const stored = (url: string, experimentName: string): Effect.Effect<Array<{ name: string; inputs: unknown }>> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list") if exp else []
print(json.dumps(sorted(
    [{"name": t.info.tags.get("mlflow.traceName"), "inputs": t.data.spans[0].inputs if t.data.spans else None}
     for t in traces],
    key=lambda t: t["name"])))
`,
    { MLFLOW_TRACKING_URI: url }
  )

const nested = (depth: number): unknown => depth === 0 ? "bottom" : { level: nested(depth - 1) }

describe("one bad trace never takes others down (real MLflow server)", () => {
  it.scopedLive("an input nested past MLflow's protobuf limit is stored, its deepest part as marked JSON, with the rest of its batch", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("deep")
      const stats = yield* exportOneBatch(
        { trackingUri: mlflowUrl(), experimentName },
        10,
        (i) => i === 3 ? nested(40) : { question: `q${i}` }
      )
      expect(stats.exported).toBe(10)
      expect(stats.failed).toBe(0)
      const traces = yield* stored(mlflowUrl(), experimentName)
      expect(traces.map((t) => t.name)).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`))
      // walk down the stored input: the levels kept, then the marker with the JSON of the rest
      let value: any = traces[3].inputs
      let levels = 0
      while (typeof value === "object" && value !== null) {
        value = value.level
        levels++
      }
      expect(levels).toBeGreaterThanOrEqual(28)
      expect(typeof value).toBe("string")
      expect(value.startsWith("[MaxDepth] ")).toBe(true)
      let rest: any = JSON.parse(value.slice("[MaxDepth] ".length))
      while (typeof rest === "object" && rest !== null) {
        rest = rest.level
        levels++
      }
      expect(rest).toBe("bottom")
      expect(levels).toBe(40)
    }))

  it.scopedLive("a proxy's 413 for a batch: the batch is split, only the trace too large alone fails, with its reason", () =>
    Effect.gen(function*() {
      const experimentName = uniqueName("too-large")
      // a proxy in front of the real server that answers 413 to `/v1/traces` bodies over 64 KiB
      const proxy = yield* scopedProxy(
        mlflowUrl(),
        ({ body, url }) =>
          url.startsWith("/v1/traces") && body.length > 64 * 1024
            ? { status: 413, body: "<html>413 Request Entity Too Large</html>" }
            : undefined
      )
      const stats = yield* exportOneBatch(
        { trackingUri: proxy.url, experimentName },
        10,
        (i) => i === 6 ? { document: "x".repeat(100 * 1024) } : { question: `q${i}`, padding: "p".repeat(10 * 1024) }
      )
      expect(proxy.count("POST /v1/traces")).toBeGreaterThan(2)
      expect(stats.exported).toBe(9)
      expect(stats.failed).toBe(1)
      const traces = yield* stored(mlflowUrl(), experimentName)
      expect(traces.map((t) => t.name)).toEqual(["t0", "t1", "t2", "t3", "t4", "t5", "t7", "t8", "t9"])
    }))
})
