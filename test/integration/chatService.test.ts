import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { address, ServiceLive } from "../../examples/chat-service.js"
import { mlflowUrl, python, uniqueName } from "./helpers.js"

describe("examples/chat-service.ts against a real MLflow server", () => {
  it.live("traces chat requests with their tags and attaches user feedback to them", () =>
    Effect.gen(function*() {
      const experiment = uniqueName("chat-service")
      const env = ConfigProvider.fromMap(
        new Map([["MLFLOW_TRACKING_URI", mlflowUrl()], ["MLFLOW_EXPERIMENT_NAME", experiment]])
      )
      // the service runs in its own scope; closing it stops the server and flushes its traces
      const { assessment_id, trace_id } = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(Layer.provide(ServiceLive(0), Layer.setConfigProvider(env)))
        const base = yield* Effect.provide(address, context)
        const send = (path: string, body: unknown, headers: Record<string, string> = {}) =>
          fetch(`${base}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify(body)
          })

        const first = yield* Effect.promise(() =>
          send("/chat", { message: "hello there" }, {
            "X-Request-ID": "req-001",
            "X-Session-ID": "session-a",
            "X-User-ID": "alice"
          })
        )
        expect(first.status).toBe(200)
        expect(yield* Effect.promise(() => first.json())).toEqual({
          response: "You said: hello there",
          request_id: "req-001"
        })
        yield* Effect.promise(() =>
          send("/chat", { message: "again" }, {
            "X-Request-ID": "req-002",
            "X-Session-ID": "session-a",
            "X-User-ID": "alice"
          })
        )

        const feedback = yield* Effect.promise(() =>
          send("/chat_feedback?client_request_id=req-001", {
            rating: "good",
            comment: "clear answer",
            user: "alice"
          })
        )
        expect(feedback.status).toBe(200)
        const { assessment_id, trace_id } = yield* Effect.promise(() => feedback.json())

        const missing = yield* Effect.promise(() => send("/chat_feedback?client_request_id=nope", { rating: "bad" }))
        expect(missing.status).toBe(404)
        expect(yield* Effect.promise(() => missing.json())).toEqual({
          error: "no trace found for client_request_id \"nope\""
        })
        return { assessment_id, trace_id }
      }))

      const stored = yield* python(
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
    }))
})
