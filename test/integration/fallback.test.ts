import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Mlflow } from "../../src/index.js"
import { flaskOnlyUrl, pyAttributes, pythonGetTraces, runTraced, uniqueName } from "./helpers.js"

describe("artifact fallback on a server without /v1/traces", () => {
  it.live("uploads traces.json when OTLP span logging is unavailable, and MLflow reads it", () =>
    Effect.gen(function*() {
      const url = flaskOnlyUrl()
      const otlp = yield* Effect.promise(() => fetch(`${url}/v1/traces`, { method: "POST" }))
      expect(otlp.status).toBe(404)

      const program = Effect.all([
        Effect.succeed([1, 2]).pipe(Mlflow.span("child", { spanType: "TOOL", inputs: { n: 2 } })),
        Effect.fail("nope").pipe(Effect.withSpan("failing"), Effect.ignore)
      ]).pipe(Mlflow.span("root", { spanType: "AGENT", inputs: { task: "fallback" } }))
      const first = yield* runTraced(program, { trackingUri: url, experimentName: uniqueName("fallback") })
      const second = yield* runTraced(program, { trackingUri: url, experimentName: uniqueName("fallback") })

      const traces = yield* pythonGetTraces(url, [first.traceId, second.traceId])
      for (const trace of traces) {
        expect(trace.info.tags["mlflow.trace.spansLocation"]).not.toBe("TRACKING_STORE")
        expect(trace.info.tags["mlflow.traceName"]).toBe("root")
        expect(trace.info.request_preview).toBe("{\"task\": \"fallback\"}")
        const byName = Object.fromEntries(trace.data.spans.map((s: any) => [s.name, s]))
        expect(Object.keys(byName).sort()).toEqual(["child", "failing", "root"])
        expect(pyAttributes(byName.root)["mlflow.spanType"]).toBe("AGENT")
        expect(pyAttributes(byName.child)).toMatchObject({
          "mlflow.spanType": "TOOL",
          "mlflow.spanInputs": { n: 2 },
          "mlflow.spanOutputs": [1, 2]
        })
        expect(byName.child.parent_span_id).toBe(byName.root.span_id)
        expect(byName.failing.status).toEqual({ code: "STATUS_CODE_ERROR", message: "string: nope" })
        expect(byName.failing.events[0].name).toBe("exception")
      }
    }))
})
