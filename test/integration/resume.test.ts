import { afterEach, describe, expect, it } from "vitest"
import { python } from "../harness/mlflow.js"
import { decodeRequest } from "../support/otlpDecode.js"
import { interceptingProxy } from "../support/proxy.js"
import { exportOneBatch, mlflowUrl, uniqueName } from "./helpers.js"

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

const START_TRACE = "POST /api/3.0/mlflow/traces"
const SPANS = "POST /v1/traces"

/** Trace names (null for a trace stored without its info) in an experiment, read with MLflow's Python client. */
const storedNames = (experimentName: string): Promise<Array<string | null>> =>
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
  it("when the trace-info request fails after the spans were stored, a retry sends only the trace info", async () => {
    let refusals = 3
    const proxy = await interceptingProxy(
      mlflowUrl(),
      ({ method, url }) =>
        method === "POST" && url === "/api/3.0/mlflow/traces" && refusals-- > 0
          ? { status: 503, body: "unavailable" }
          : undefined
    )
    closers.push(proxy.close)
    const experimentName = uniqueName("resume")
    const stats = await exportOneBatch(
      { trackingUri: proxy.url, experimentName, retryInitialDelay: "50 millis", retryMaxDelay: "100 millis" },
      5
    )
    expect(stats.exported).toBe(5)
    expect(stats.failed).toBe(0)
    // spans went out once; the trace info of each trace until it was taken
    expect(spansSent(proxy.bodies(SPANS))).toEqual(["t0", "t1", "t2", "t3", "t4"])
    expect(proxy.count(START_TRACE)).toBeGreaterThanOrEqual(5 + 3)
    expect((await storedNames(experimentName)).sort()).toEqual(["t0", "t1", "t2", "t3", "t4"])
  })

  it("when the trace info never gets through, the traces the server holds in part are counted as such", async () => {
    const proxy = await interceptingProxy(
      mlflowUrl(),
      ({ method, url }) =>
        method === "POST" && url === "/api/3.0/mlflow/traces" ? { status: 503, body: "unavailable" } : undefined
    )
    closers.push(proxy.close)
    const experimentName = uniqueName("half")
    const stats = await exportOneBatch(
      {
        trackingUri: proxy.url,
        experimentName,
        retryInitialDelay: "50 millis",
        retryMaxDelay: "100 millis",
        retryTimeout: "1 second"
      },
      4
    )
    expect(stats.exported).toBe(0)
    expect(stats.failed).toBe(4)
    expect(stats.incomplete).toBe(4)
    expect(spansSent(proxy.bodies(SPANS))).toEqual(["t0", "t1", "t2", "t3"])
    // what the server holds: the four traces, built from their spans alone (no trace info of ours)
    expect((await storedNames(experimentName)).length).toBe(4)
  })
})
