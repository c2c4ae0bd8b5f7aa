import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, Schema, Stream } from "effect"
import { Mlflow, MlflowTracing } from "../../src/index.js"
import * as TracedAnthropic from "../../src/providers/TracedAnthropic.js"
import * as TracedOpenAi from "../../src/providers/TracedOpenAi.js"
import { getWeatherTool } from "../support/fakeModel.js"
import { type FakeVendor, startFakeVendors } from "../support/fakeVendors.js"
import { mlflowUrl, pyAttributes, python, uniqueName } from "./helpers.js"

const OPENAI_KEY = "sk-openai-do-not-leak-4242"
const ANTHROPIC_KEY = "sk-ant-do-not-leak-4343"

const GetWeather = Tool.make("GetWeather", {
  description: "Current weather of a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({ GetWeather: ({ city }) => Effect.succeed({ celsius: city.length * 3 }) })

let vendor: FakeVendor
beforeAll(async () => {
  vendor = await startFakeVendors()
})
afterAll(() => vendor.close())

const openAi = (options: Partial<TracedOpenAi.Options> = {}) =>
  TracedOpenAi.layer({ model: "gpt-4o-mini", config: { temperature: 0.2, max_output_tokens: 256 }, ...options }).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make(OPENAI_KEY), apiUrl: `${vendor.url}/v1` })),
    Layer.provide(FetchHttpClient.layer)
  )

const anthropic = () =>
  TracedAnthropic.layer({ model: "claude-sonnet-4-5", config: { max_tokens: 512 } }).pipe(
    Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make(ANTHROPIC_KEY), apiUrl: vendor.url })),
    Layer.provide(FetchHttpClient.layer)
  )

/** Runs `program` in a root span traced into a fresh experiment; answers the trace id and the program's exit. */
const traceInto = <A, E, Model>(
  program: Effect.Effect<A, E, Model | Tool.Handler<"GetWeather">>,
  model: Layer.Layer<Model>
) => {
  const experiment = uniqueName("providers")
  return Effect.gen(function*() {
    const exit = yield* Effect.exit(program.pipe(Mlflow.span("agent", { spanType: "AGENT" })))
    const traceId = Option.getOrThrow(yield* Mlflow.lastTraceId)
    return { exit, traceId }
  }).pipe(
    Effect.provide(model),
    Effect.provide(WeatherHandlers),
    Effect.provide(MlflowTracing.layer({ trackingUri: mlflowUrl(), experimentName: experiment }))
  )
}

/** The trace as MLflow's Python client reads it: spans by name with parsed attributes, and the trace info. */
const readTrace = (traceId: string) =>
  Effect.map(
    python(
      `
import json, mlflow
from mlflow.types.chat import ChatCompletionResponse, ChatMessage, ChatTool
t = mlflow.get_trace(${JSON.stringify(traceId)})
spans = [dict(s.to_dict(), span_type=s.span_type, inputs=s.inputs, outputs=s.outputs) for s in t.data.spans]
# what MLflow's own chat schema (the UI's chat view) makes of our CHAT_MODEL spans
invalid = []
for s in t.data.spans:
    if s.span_type != "CHAT_MODEL":
        continue
    try:
        for m in s.inputs["messages"]:
            ChatMessage.model_validate(m)
        for tool in s.get_attribute("mlflow.chat.tools") or []:
            ChatTool.model_validate(tool)
        if "usage" in (s.outputs or {}):
            ChatCompletionResponse.model_validate(s.outputs)
    except Exception as e:
        invalid.append(f"{s.name}: {e}")
print(json.dumps({"info": t.info.to_dict(), "token_usage": t.info.token_usage, "spans": spans, "invalid": invalid,
                  "raw": t.to_json()}))
`,
      { MLFLOW_TRACKING_URI: mlflowUrl() }
    ),
    (result) => {
      expect(result.invalid).toEqual([])
      const spans = result.spans.map((span: any) => ({ ...span, attrs: pyAttributes(span) }))
      return {
        ...result,
        spans,
        span: (name: string) => spans.filter((s: any) => s.name === name)
      }
    }
  )

describe("traced @effect/ai providers against fake vendors and a real MLflow server", () => {
  it.live("OpenAI: a tool-calling agent with a streamed answer lands in MLflow in its chat conventions", () =>
    Effect.gen(function*() {
      vendor.script(
        { kind: "toolCall", id: "call_weather_1", name: "GetWeather", args: { city: "Paris" } },
        { kind: "text", text: "It is 15 degrees in Paris.", usage: { input: 40, output: 9, cached: 32 } },
        { kind: "text", text: "Have a nice day in Paris" }
      )
      const { exit, traceId } = yield* traceInto(
        Effect.gen(function*() {
          const first = yield* LanguageModel.generateText({
            prompt: [{ role: "system", content: "You answer weather questions." }, {
              role: "user",
              content: "Weather in Paris?"
            }],
            toolkit: Weather
          })
          const followUp = yield* LanguageModel.generateText({
            prompt: [
              { role: "user", content: "Weather in Paris?" },
              {
                role: "assistant",
                content: first.toolCalls.map((call) => ({
                  type: "tool-call" as const,
                  id: call.id,
                  name: call.name,
                  params: call.params
                }))
              },
              {
                role: "tool",
                content: first.toolResults.map((r) => ({
                  type: "tool-result" as const,
                  id: r.id,
                  name: r.name,
                  result: r.encodedResult,
                  isFailure: false,
                  providerExecuted: false
                }))
              }
            ]
          }).pipe(OpenAiLanguageModel.withConfigOverride({ temperature: 0 }))
          const streamed = yield* LanguageModel.streamText({ prompt: "Say goodbye" }).pipe(
            Stream.runFold("", (text, part) => part.type === "text-delta" ? text + part.delta : text)
          )
          return [followUp.text, streamed]
        }),
        openAi()
      )
      expect(exit).toMatchObject({ _tag: "Success", value: ["It is 15 degrees in Paris.", "Have a nice day in Paris"] })

      const trace = yield* readTrace(traceId)
      expect(trace.spans.map((s: any) => [s.name, s.span_type])).toEqual([
        ["agent", "AGENT"],
        ["OpenAiLanguageModel.generateText", "CHAT_MODEL"],
        ["GetWeather", "TOOL"],
        ["OpenAiLanguageModel.generateText", "CHAT_MODEL"],
        ["OpenAiLanguageModel.streamText", "CHAT_MODEL"]
      ])
      const [, toolCall, tool, answer, stream] = trace.spans
      expect(tool.parent_span_id).toBe(toolCall.span_id)
      expect(tool.inputs).toEqual({ city: "Paris" })
      expect(tool.outputs).toEqual({ celsius: 15 })

      expect(toolCall.inputs).toMatchObject({
        model: "gpt-4o-mini",
        temperature: 0.2,
        max_output_tokens: 256,
        messages: [
          { role: "system", content: "You answer weather questions." },
          { role: "user", content: "Weather in Paris?" }
        ]
      })
      expect(toolCall.attrs["mlflow.chat.tools"]).toEqual([getWeatherTool])
      expect(toolCall.attrs).toMatchObject({
        "mlflow.message.format": "openai",
        "mlflow.llm.provider": "openai",
        "mlflow.llm.model": "gpt-4o-mini-2024-07-18",
        temperature: 0.2,
        max_output_tokens: 256
      })
      const assistantToolCall = {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_weather_1",
          type: "function",
          function: { name: "GetWeather", arguments: "{\"city\":\"Paris\"}" }
        }]
      }
      expect(toolCall.outputs.choices[0]).toEqual({ index: 0, message: assistantToolCall, finish_reason: "tool_calls" })
      // the follow-up carries the tool exchange in OpenAI's message format, and the per-call override
      expect(answer.inputs.messages).toEqual([
        { role: "user", content: "Weather in Paris?" },
        assistantToolCall,
        { role: "tool", tool_call_id: "call_weather_1", content: "{\"celsius\":15}" }
      ])
      expect(answer.attrs.temperature).toBe(0)
      expect(answer.outputs.choices[0].message).toEqual({ role: "assistant", content: "It is 15 degrees in Paris." })
      expect(answer.attrs["mlflow.chat.tokenUsage"]).toEqual({
        input_tokens: 40,
        output_tokens: 9,
        total_tokens: 49,
        cache_read_input_tokens: 32
      })

      expect(stream.status.code).toBe("STATUS_CODE_OK")
      expect(stream.outputs.choices[0].message.content).toBe("Have a nice day in Paris")
      expect(stream.attrs["mlflow.chat.tokenUsage"]).toMatchObject({ input_tokens: 21, output_tokens: 7 })
      expect(stream.attrs["effect_mlflow.time_to_first_token_ms"]).toBeGreaterThan(0)
      const chunks = stream.events.filter((e: any) => e.name.startsWith("mlflow.chunk.item."))
      expect(chunks.length).toBeGreaterThan(6)
      const deltas = chunks.map((e: any) => JSON.parse(e.attributes["mlflow.chunk.value"]))
        .filter((c: any) => c.type === "text-delta").map((c: any) => c.delta)
      expect(deltas.join("")).toBe("Have a nice day in Paris")

      // trace-level usage: the three model calls, counted once each
      expect(trace.token_usage).toEqual({
        input_tokens: 82,
        output_tokens: 23,
        total_tokens: 105,
        cache_read_input_tokens: 42
      })
      expect(trace.info.response_preview).toBeDefined()

      // hygiene: no trace context and no key leaves for the vendor beyond its own header; no key in the trace
      expect(vendor.requests.map((r) => r.path)).toEqual(["/v1/responses", "/v1/responses", "/v1/responses"])
      for (const request of vendor.requests) {
        expect(request.headers.traceparent).toBeUndefined()
        expect(request.headers.b3).toBeUndefined()
        expect(request.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`)
      }
      expect(trace.raw).not.toContain(OPENAI_KEY)
      expect(trace.raw).not.toContain("http.client")
      expect(trace.raw).not.toContain("~effect/") // no @effect/ai marker keys in inputs, outputs or chunks
    }))

  it.live("Anthropic: messages, tool use and cache-aware token usage", () =>
    Effect.gen(function*() {
      vendor.script(
        { kind: "toolCall", id: "toolu_01", name: "GetWeather", args: { city: "Oslo" } },
        { kind: "text", text: "Cold and clear in Oslo tonight" }
      )
      const { exit, traceId } = yield* traceInto(
        Effect.gen(function*() {
          yield* LanguageModel.generateText({ prompt: "Weather in Oslo?", toolkit: Weather })
          return yield* LanguageModel.streamText({ prompt: "And tonight?" }).pipe(
            Stream.runFold("", (text, part) => part.type === "text-delta" ? text + part.delta : text)
          )
        }),
        anthropic()
      )
      expect(exit).toMatchObject({ _tag: "Success", value: "Cold and clear in Oslo tonight" })
      const trace = yield* readTrace(traceId)
      expect(trace.spans.map((s: any) => [s.name, s.span_type])).toEqual([
        ["agent", "AGENT"],
        ["AnthropicLanguageModel.generateText", "CHAT_MODEL"],
        ["GetWeather", "TOOL"],
        ["AnthropicLanguageModel.streamText", "CHAT_MODEL"]
      ])
      const [, call, tool, stream] = trace.spans
      expect(tool.outputs).toEqual({ celsius: 12 })
      expect(call.attrs).toMatchObject({
        "mlflow.llm.provider": "anthropic",
        "mlflow.llm.model": "claude-sonnet-4-5-20250929",
        "mlflow.message.format": "openai",
        max_tokens: 512
      })
      expect(call.inputs.messages).toEqual([{ role: "user", content: "Weather in Oslo?" }])
      expect(call.outputs.choices[0].message.tool_calls[0].function).toEqual({
        name: "GetWeather",
        arguments: "{\"city\":\"Oslo\"}"
      })
      // Anthropic counts cache reads and writes outside input_tokens: they are added back, as MLflow does
      const usage = { input_tokens: 36, output_tokens: 9, total_tokens: 45 }
      expect(call.attrs["mlflow.chat.tokenUsage"]).toEqual({
        ...usage,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 2
      })
      expect(stream.attrs["mlflow.chat.tokenUsage"]).toMatchObject(usage)
      expect(stream.outputs.choices[0].message.content).toBe("Cold and clear in Oslo tonight")
      expect(trace.token_usage).toMatchObject({ input_tokens: 72, output_tokens: 18, total_tokens: 90 })
      for (const request of vendor.requests) {
        expect(request.headers.traceparent).toBeUndefined()
        expect(request.headers["x-api-key"]).toBe(ANTHROPIC_KEY)
      }
      expect(trace.raw).not.toContain(ANTHROPIC_KEY)
    }))

  it.live.each(
    [
      ["OpenAI", () => openAi(), "OpenAiLanguageModel.streamText"],
      ["Anthropic", anthropic, "AnthropicLanguageModel.streamText"]
    ] as const
  )(
    "%s: stream spans end with the right status on mid-stream failure, error events, interruption",
    ([, model, spanName]) =>
      Effect.gen(function*() {
        vendor.script(
          { kind: "cut", text: "one two three four five", after: 2 },
          { kind: "errorEvent", text: "one two three", after: 2, message: "Overloaded, try again later" },
          { kind: "hang", text: "one two three", after: 2 }
        )
        const drain = Stream.runFold(
          "",
          (text: string, part: any) => part.type === "text-delta" ? text + part.delta : text
        )
        const { traceId } = yield* traceInto(
          Effect.gen(function*() {
            const cut = yield* Effect.exit(drain(LanguageModel.streamText({ prompt: "cut" })))
            const errorEvent = yield* Effect.exit(drain(LanguageModel.streamText({ prompt: "error event" })))
            const hanging = yield* Effect.fork(drain(LanguageModel.streamText({ prompt: "hang" })))
            yield* Effect.sleep("300 millis")
            yield* Fiber.interrupt(hanging)
            return { cut: cut._tag, errorEvent: errorEvent._tag }
          }),
          model()
        )
        const trace = yield* readTrace(traceId)
        const [cut, errorEvent, hang] = trace.span(spanName)
        expect(cut.status.code).toBe("STATUS_CODE_ERROR")
        expect(cut.outputs.choices[0].message.content).toBe("one two")
        expect(cut.events.some((e: any) => e.name === "exception")).toBe(true)
        expect(errorEvent.status).toEqual({
          code: "STATUS_CODE_ERROR",
          message: "ProviderStreamError: Overloaded, try again later"
        })
        expect(errorEvent.outputs.choices[0].message.content).toBe("one two")
        expect(hang.status).toEqual({ code: "STATUS_CODE_ERROR", message: "Interrupted" })
        expect(hang.outputs.choices[0].message.content).toBe("one two")
        expect(hang.end_time_unix_nano).toBeGreaterThan(hang.start_time_unix_nano)
      })
  )

  it.live("records a vendor's HTTP error with its message; traceparent is sent only when asked for", () =>
    Effect.gen(function*() {
      vendor.script(
        { kind: "httpError", status: 429, message: "Rate limit reached for gpt-4o-mini on tokens per min" },
        { kind: "text", text: "fine" }
      )
      const { exit, traceId } = yield* traceInto(
        Effect.gen(function*() {
          yield* Effect.exit(LanguageModel.generateText({ prompt: "Hi" }))
          return yield* LanguageModel.generateText({ prompt: "Again" })
        }),
        openAi({ propagateTraceContext: true })
      )
      expect(exit._tag).toBe("Success")
      const trace = yield* readTrace(traceId)
      const [failed] = trace.span("OpenAiLanguageModel.generateText")
      expect(failed.status.code).toBe("STATUS_CODE_ERROR")
      expect(failed.status.message).toContain("Rate limit reached for gpt-4o-mini on tokens per min")
      expect(failed.inputs.messages).toEqual([{ role: "user", content: "Hi" }])
      expect(failed.attrs["mlflow.spanLogLevel"]).toBe(40)
      expect(trace.raw).not.toContain(OPENAI_KEY)
      // opted in: the vendor sees our trace context, naming the HTTP client span under the model span;
      // the provider's own LanguageModel span is merged into ours, not nested as a duplicate
      expect(trace.spans.map((s: any) => s.name)).toEqual([
        "agent",
        "OpenAiLanguageModel.generateText",
        "http.client POST",
        "OpenAiLanguageModel.generateText",
        "http.client POST"
      ])
      const http = trace.span("http.client POST")[1]
      expect(http.parent_span_id).toBe(trace.span("OpenAiLanguageModel.generateText")[1].span_id)
      expect(vendor.requests[1].headers.traceparent).toBe(
        `00-${trace.info.trace_id.slice(3)}-${Buffer.from(http.span_id, "base64").toString("hex")}-01`
      )
    }))

  it.live("OpenAI embeddings become EMBEDDING spans", () =>
    Effect.gen(function*() {
      const embeddings = TracedOpenAi.embeddingLayer({ model: "text-embedding-3-small" }).pipe(
        Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make(OPENAI_KEY), apiUrl: `${vendor.url}/v1` })),
        Layer.provide(FetchHttpClient.layer)
      )
      const { exit, traceId } = yield* traceInto(
        Effect.flatMap(EmbeddingModel.EmbeddingModel, (model) => model.embedMany(["alpha", "beta gamma"])),
        Layer.merge(embeddings, openAi())
      )
      expect(exit).toMatchObject({ _tag: "Success", value: [[0.5, 0.5, -0.25], [1, 0.5, -0.25]] })
      const trace = yield* readTrace(traceId)
      const [span] = trace.span("OpenAiEmbeddingModel.embedMany")
      expect(span.span_type).toBe("EMBEDDING")
      expect(span.inputs).toEqual({ model: "text-embedding-3-small", input: ["alpha", "beta gamma"] })
      expect(span.outputs).toEqual({ count: 2, dimensions: 3 })
      expect(span.attrs["mlflow.llm.model"]).toBe("text-embedding-3-small")
      expect(trace.spans).toHaveLength(2)
    }))
})
