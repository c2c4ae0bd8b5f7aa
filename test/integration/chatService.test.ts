import { ConfigProvider, Effect, Exit, Layer, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { address, ServiceLive } from "../../examples/chat-service.js"
import { python } from "../harness/mlflow.js"
import { mlflowUrl, uniqueName } from "./helpers.js"

describe("examples/chat-service.ts against a real MLflow server", () => {
  it("traces chat requests with their tags and attaches user feedback to them", async () => {
    const experiment = uniqueName("chat-service")
    const env = ConfigProvider.fromMap(
      new Map([["MLFLOW_TRACKING_URI", mlflowUrl()], ["MLFLOW_EXPERIMENT_NAME", experiment]])
    )
    const scope = Effect.runSync(Scope.make())
    try {
      const context = await Effect.runPromise(
        Layer.buildWithScope(Layer.provide(ServiceLive(0), Layer.setConfigProvider(env)), scope)
      )
      const base = Effect.runSync(Effect.provide(address, context))
      const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body)
        })

      const first = await send("/chat", { message: "hello there" }, {
        "X-Request-ID": "req-001",
        "X-Session-ID": "session-a",
        "X-User-ID": "alice"
      })
      expect(first.status).toBe(200)
      expect(await first.json()).toEqual({ response: "You said: hello there", request_id: "req-001" })
      await send("/chat", { message: "again" }, {
        "X-Request-ID": "req-002",
        "X-Session-ID": "session-a",
        "X-User-ID": "alice"
      })

      const feedback = await send("/chat_feedback?client_request_id=req-001", {
        rating: "good",
        comment: "clear answer",
        user: "alice"
      })
      expect(feedback.status).toBe(200)
      const { assessment_id, trace_id } = await feedback.json()

      const missing = await send("/chat_feedback?client_request_id=nope", { rating: "bad" })
      expect(missing.status).toBe(404)
      expect(await missing.json()).toEqual({ error: "no trace found for client_request_id \"nope\"" })

      await Effect.runPromise(Scope.close(scope, Exit.void))
      const stored = await python(
        `
import json, mlflow
exp = mlflow.get_experiment_by_name(${JSON.stringify(experiment)})
traces = mlflow.search_traces(locations=[exp.experiment_id], return_type="list",
                              filter_string="metadata.\`mlflow.trace.session\` = 'session-a'")
print(json.dumps([t.to_dict() for t in traces]))
`,
        { MLFLOW_TRACKING_URI: mlflowUrl() }
      )
      expect(stored).toHaveLength(2)
      const byRequest = Object.fromEntries(stored.map((t: any) => [t.info.client_request_id, t]))
      const trace = byRequest["req-001"]
      expect(trace.info.trace_id).toBe(trace_id)
      expect(trace.info.tags).toMatchObject({
        environment: "development",
        version: "1.0.0",
        "mlflow.traceName": "chat"
      })
      expect(trace.info.trace_metadata).toMatchObject({
        "mlflow.trace.session": "session-a",
        "mlflow.trace.user": "alice"
      })
      expect(trace.info.request_preview).toBe("{\"message\": \"hello there\"}")
      expect(trace.data.spans.map((s: any) => s.name)).toEqual(["chat", "model"])
      const [assessment] = trace.info.assessments
      expect(assessment).toMatchObject({
        assessment_id,
        assessment_name: "user_feedback",
        feedback: { value: "good" },
        rationale: "clear answer",
        source: { source_type: "HUMAN", source_id: "alice" }
      })
      expect(byRequest["req-002"].info.assessments ?? []).toEqual([])
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
