import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeRequest } from "../support/otlpDecode.js"
import { scopedProxy } from "../support/proxy.js"
import { exportOneBatch, mlflowUrl, python, uniqueName } from "./helpers.js"

const START_TRACE = "POST /api/3.0/mlflow/traces"
const SPANS = "POST /v1/traces"

/** Trace names (null for a trace stored without its info) in an experiment, read with MLflow's Python client. */
const storedNames = (experimentName: string): Effect.Effect<Array<string | null>> =>
  python(
    `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experimentName)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list", include_spans=False) if exp else []
print(json.dumps([t.info.tags.get("mlflow.traceName") for t in traces]))
`,
    { MLFLOW_TRACKING_URI: mlflowUrl() }
  )

/** The names of the spans in OTLP requests, sorted (a span sent twice appears twice). */
const spansSent = (bodies: ReadonlyArray<Buffer>): Array<string> =>
  bodies.flatMap((body) =>
    decodeRequest(new Uint8Array(body)).flatMap((rs) => rs.scopes.flatMap((scope) => scope.spans.map((s) => s.name)))
  ).sort()

describe("a trace is stored whole, or counted as not (real MLflow server)", () => {
  it.scopedLive("when the trace-info request fails after the spans were stored, a retry sends only the trace info", () =>
    Effect.gen(function*() {
      let refusals = 3
      const proxy = yield* scopedProxy(
        mlflowUrl(),
        ({ method, url }) =>
          method === "POST" && url === "/api/3.0/mlflow/traces" && refusals-- > 0
            ? { status: 503, body: "unavailable" }
            : undefined
      )
      const experimentName = uniqueName("resume")
      const stats = yield* exportOneBatch(
        { trackingUri: proxy.url, experimentName, retryInitialDelay: "50 millis", retryMaxDelay: "100 millis" },
        5
      )
      expect(stats.exported).toBe(5)
      expect(stats.failed).toBe(0)
      // spans went out once; the trace info of each trace until it was taken
      expect(spansSent(proxy.bodies(SPANS))).toEqual(["t0", "t1", "t2", "t3", "t4"])
      expect(proxy.count(START_TRACE)).toBeGreaterThanOrEqual(5 + 3)
      expect((yield* storedNames(experimentName)).sort()).toEqual(["t0", "t1", "t2", "t3", "t4"])
    }))

  it.scopedLive("when the trace info never gets through, the traces the server holds in part are counted as such", () =>
    Effect.gen(function*() {
      const proxy = yield* scopedProxy(
        mlflowUrl(),
        ({ method, url }) =>
          method === "POST" && url === "/api/3.0/mlflow/traces" ? { status: 503, body: "unavailable" } : undefined
      )
      const experimentName = uniqueName("half")
      const stats = yield* exportOneBatch(
        {
          trackingUri: proxy.url,
          experimentName,
          retryInitialDelay: "50 millis",
          retryMaxDelay: "100 millis",
          retryTimeout: "1 second",
          // every trace tries its StartTraceV3 ("auto" would store the later ones from their spans)
          traceInfo: "always"
        },
        4
      )
      expect(stats.exported).toBe(0)
      expect(stats.failed).toBe(4)
      expect(stats.incomplete).toBe(4)
      expect(spansSent(proxy.bodies(SPANS))).toEqual(["t0", "t1", "t2", "t3"])
      // what the server holds: the four traces, built from their spans alone (no trace info of ours)
      expect((yield* storedNames(experimentName)).length).toBe(4)
    }))
})
