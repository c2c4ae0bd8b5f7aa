import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { answer, TracedEchoModelLive, TracedRetrieverLive } from "../../examples/rag.js"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import { mlflowUrl, python, uniqueName } from "./helpers.js"

describe("examples/rag.ts against a real MLflow server", () => {
  it.live("stores RETRIEVER documents and chat messages that MLflow's own entities accept", () =>
    Effect.gen(function*() {
      const experiment = uniqueName("rag")
      const traceId = yield* Effect.gen(function*() {
        yield* answer("What does MLflow Tracing record?", "session-rag")
        return Option.getOrThrow(yield* Mlflow.lastTraceId)
      }).pipe(
        Effect.provide(Layer.merge(TracedRetrieverLive, TracedEchoModelLive)),
        Effect.provide(MlflowTracing.layer({ trackingUri: mlflowUrl(), experimentName: experiment }))
      )
      const stored = yield* python(
        `
import json, mlflow
from mlflow.entities import Document
from mlflow.types.chat import ChatCompletionResponse, ChatMessage
t = mlflow.get_trace(${JSON.stringify(traceId)})
retriever = t.search_spans(span_type="RETRIEVER")[0]
chat = t.search_spans(span_type="CHAT_MODEL")[0]
docs = [Document(**d).to_dict() for d in retriever.outputs]
messages = [ChatMessage.model_validate(m).model_dump(exclude_none=True) for m in chat.inputs["messages"]]
response = ChatCompletionResponse.model_validate(chat.outputs)
print(json.dumps({"docs": docs, "messages": messages, "answer": response.choices[0].message.content,
                  "session": t.info.trace_metadata.get("mlflow.trace.session"),
                  "types": [s.span_type for s in t.data.spans]}))
`,
        { MLFLOW_TRACKING_URI: mlflowUrl() }
      )
      expect(stored.types).toEqual(["CHAIN", "RETRIEVER", "CHAT_MODEL"])
      expect(stored.docs).toEqual([{
        page_content: "MLflow Tracing records the inputs, outputs and timing of each step.",
        metadata: { source: "tracing.md" },
        id: "1"
      }])
      expect(stored.messages[1]).toEqual({ role: "user", content: "What does MLflow Tracing record?" })
      expect(stored.answer).toBe("MLflow Tracing records the inputs, outputs and timing of each step. (tracing.md)")
      expect(stored.session).toBe("session-rag")
    }))
})
