import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Redacted, Schema, Stream } from "effect"
import { Redaction } from "../../src/index.js"
import * as ChatFormat from "../../src/internal/llm/chatFormat.js"
import * as TracedLanguageModel from "../../src/providers/TracedLanguageModel.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import type { SpanData } from "../../src/Trace.js"
import { fakeModel, getWeatherTool, streamParts, textReply, toolCallReply } from "../support/fakeModel.js"

const GetWeather = Tool.make("GetWeather", {
  description: "Current weather of a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ celsius: Schema.Number })
})
const Weather = Toolkit.make(GetWeather)
const WeatherHandlers = Weather.toLayer({
  GetWeather: ({ city }) => Effect.succeed({ celsius: city.length }).pipe(Effect.withSpan("lookup"))
})

const traced = (model: Layer.Layer<LanguageModel.LanguageModel>, options: TracedLanguageModel.Options = {}) =>
  Layer.provideMerge(
    TracedLanguageModel.fromLayer(model, { provider: "fake", parameters: { temperature: 0.2 }, ...options }),
    TestTracing.layer()
  )

const attrs = (span: SpanData | undefined) => span?.attributes ?? {}

describe("TracedLanguageModel", () => {
  it.effect("records a generateText call as one CHAT_MODEL span in MLflow's chat conventions", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: [{ type: "text", text: "Hi there" }] }
        ]
      }).pipe(Effect.withSpan("answer"))
      assert.strictEqual(response.text, "Hello!")
      const [trace] = yield* TestTracing.traces
      assert.deepStrictEqual(trace.spans.map((s) => s.name), ["answer", "LanguageModel.generateText"])
      const span = attrs(trace.spans[1])
      assert.strictEqual(span["mlflow.spanType"], "CHAT_MODEL")
      assert.strictEqual(span["mlflow.message.format"], "openai")
      assert.strictEqual(span["mlflow.llm.provider"], "fake")
      assert.strictEqual(span["mlflow.llm.model"], "fake-model-1")
      assert.strictEqual(span.temperature, 0.2)
      assert.deepStrictEqual(span["mlflow.spanInputs"], {
        temperature: 0.2,
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi there" }]
      })
      const { created, ...outputs } = span["mlflow.spanOutputs"] as any
      assert.isTrue(Number.isInteger(created) && Math.abs(created - Date.now() / 1000) < 60)
      assert.deepStrictEqual(outputs, {
        id: "resp_1",
        object: "chat.completion",
        model: "fake-model-1",
        choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
      })
      assert.deepStrictEqual(span["mlflow.chat.tokenUsage"], { input_tokens: 10, output_tokens: 5, total_tokens: 15 })
      assert.strictEqual(
        trace.info.metadata["mlflow.trace.tokenUsage"],
        "{\"input_tokens\": 10, \"output_tokens\": 5, \"total_tokens\": 15}"
      )
    }).pipe(Effect.provide(traced(fakeModel([textReply("Hello!")])))))

  it.effect("a model call at the root gives the trace chat-aware previews", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({
        prompt: [{ role: "user", content: "first" }, { role: "user", content: "Hi there" }]
      })
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.info.requestPreview, "Hi there")
      assert.strictEqual(trace.info.responsePreview, "Hello!")
    }).pipe(Effect.provide(traced(fakeModel([textReply("Hello!")])))))

  it.effect("turns toolkit calls into TOOL spans under the model span, with arguments and results", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "Weather in Paris?", toolkit: Weather })
      assert.deepStrictEqual(response.toolResults.map((r) => r.result), [{ celsius: 5 }])
      const [trace] = yield* TestTracing.traces
      assert.deepStrictEqual(trace.spans.map((s) => s.name).sort(), [
        "GetWeather",
        "LanguageModel.generateText",
        "lookup"
      ])
      const [model, tool, lookup] = ["LanguageModel.generateText", "GetWeather", "lookup"].map((name) =>
        TestTracing.findSpan(trace, name)!
      )
      assert.strictEqual(tool.parentSpanId, model.spanId)
      assert.strictEqual(lookup.parentSpanId, tool.spanId)
      assert.strictEqual(attrs(tool)["mlflow.spanType"], "TOOL")
      assert.deepStrictEqual(attrs(tool)["mlflow.spanInputs"], { city: "Paris" })
      assert.deepStrictEqual(attrs(tool)["mlflow.spanOutputs"], { celsius: 5 })
      const tools = [getWeatherTool]
      assert.deepStrictEqual(attrs(model)["mlflow.chat.tools"], tools)
      assert.deepStrictEqual((attrs(model)["mlflow.spanInputs"] as any).tools, tools)
      assert.deepStrictEqual((attrs(model)["mlflow.spanOutputs"] as any).choices[0], {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_1",
            type: "function",
            function: { name: "GetWeather", arguments: "{\"city\":\"Paris\"}" }
          }]
        },
        finish_reason: "tool_calls"
      })
    }).pipe(
      Effect.provide(traced(fakeModel([toolCallReply("call_1", "GetWeather", { city: "Paris" })]))),
      Effect.provide(WeatherHandlers)
    ))

  it.effect("records a stream: chunk events, aggregated output, usage with cached tokens, time to first token", () =>
    Effect.gen(function*() {
      const parts = yield* LanguageModel.streamText({ prompt: "Say hi" }).pipe(
        Stream.mapEffect((part) => Effect.succeed(part.type).pipe(Effect.withSpan("consume"))),
        Stream.runCollect,
        Effect.withSpan("chat")
      )
      assert.strictEqual(Chunk.size(parts), 7)
      const [trace] = yield* TestTracing.traces
      const model = trace.spans.find((s) => s.name === "LanguageModel.streamText")!
      assert.strictEqual(model.status.code, "OK")
      assert.strictEqual(attrs(model)["mlflow.spanType"], "CHAT_MODEL")
      assert.deepStrictEqual((attrs(model)["mlflow.spanOutputs"] as any).choices[0].message, {
        role: "assistant",
        content: "hello there friend"
      })
      assert.deepStrictEqual(attrs(model)["mlflow.chat.tokenUsage"], {
        input_tokens: 12,
        output_tokens: 4,
        total_tokens: 16,
        cache_read_input_tokens: 3
      })
      assert.strictEqual(model.events.length, 7)
      assert.deepStrictEqual(model.events.map((e) => e.name).slice(0, 2), [
        "mlflow.chunk.item.0",
        "mlflow.chunk.item.1"
      ])
      assert.deepStrictEqual(JSON.parse(model.events[2].attributes["mlflow.chunk.value"] as string), {
        type: "text-delta",
        id: "t",
        delta: "hello",
        metadata: {}
      })
      assert.isNumber(attrs(model)["effect_mlflow.time_to_first_token_ms"])
      // the consumer's own spans are still traced, beside the model span
      const consume = trace.spans.filter((s) => s.name === "consume")
      assert.strictEqual(consume.length, 7)
      assert.isTrue(consume.every((s) => s.parentSpanId === trace.spans[0].spanId))
      assert.strictEqual(model.parentSpanId, trace.spans[0].spanId)
    }).pipe(Effect.provide(traced(fakeModel([], Stream.fromIterable(streamParts("hello there friend")))))))

  it.effect("bounds chunk events and counts the rest", () =>
    Effect.gen(function*() {
      yield* Stream.runDrain(LanguageModel.streamText({ prompt: "Say hi" }))
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.spans[0].events.length, 3)
      assert.strictEqual(attrs(trace.spans[0])["effect_mlflow.chunks_dropped"], 4)
    }).pipe(
      Effect.provide(
        traced(fakeModel([], Stream.fromIterable(streamParts("hello there friend"))), { maxChunkEvents: 3 })
      )
    ))

  it.live("ends the stream span with ERROR when the consumer is interrupted, keeping what arrived", () =>
    Effect.gen(function*() {
      const fiber = yield* LanguageModel.streamText({ prompt: "Say hi" }).pipe(Stream.runDrain, Effect.fork)
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.deepStrictEqual(span.status, { code: "ERROR", message: "Interrupted" })
      assert.strictEqual((attrs(span)["mlflow.spanOutputs"] as any).choices[0].message.content, "hello")
    }).pipe(
      Effect.provide(traced(fakeModel(
        [],
        Stream.concat(Stream.fromIterable(streamParts("hello").slice(0, 3)), Stream.never)
      )))
    ))

  it.effect("ends a failed call's span with ERROR and the provider's message, keeping its inputs", () => {
    const failing = Layer.effect(
      LanguageModel.LanguageModel,
      LanguageModel.make({
        generateText: () =>
          Effect.fail(
            new AiError.UnknownError({ module: "Fake", method: "generateText", description: "quota exceeded" })
          ),
        streamText: () => Stream.empty
      })
    )
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(LanguageModel.generateText({ prompt: "Hi" }))
      assert.isTrue(exit._tag === "Failure")
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.strictEqual(span.status.code, "ERROR")
      assert.include(span.status.message, "quota exceeded")
      assert.strictEqual(attrs(span)["mlflow.spanType"], "CHAT_MODEL")
      assert.deepStrictEqual((attrs(span)["mlflow.spanInputs"] as any).messages, [{ role: "user", content: "Hi" }])
      assert.strictEqual(span.events[0].name, "exception")
    }).pipe(Effect.provide(traced(failing)))
  })

  it.effect("ends the stream span with ERROR when the provider fails mid-stream, keeping the partial output", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" })))
      assert.isTrue(exit._tag === "Failure")
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.strictEqual(span.status.code, "ERROR")
      assert.include(span.status.message, "connection reset")
      assert.strictEqual((attrs(span)["mlflow.spanOutputs"] as any).choices[0].message.content, "hello there")
    }).pipe(Effect.provide(traced(fakeModel(
      [],
      Stream.concat(
        Stream.fromIterable(streamParts("hello there friend").slice(0, 4)),
        Stream.fail(new AiError.UnknownError({ module: "Fake", method: "stream", description: "connection reset" }))
      )
    )))))

  it.effect("ends the stream span with ERROR when the provider reports an error event", () =>
    Effect.gen(function*() {
      yield* Stream.runDrain(LanguageModel.streamText({ prompt: "Hi" }))
      const [trace] = yield* TestTracing.traces
      assert.deepStrictEqual(trace.spans[0].status, {
        code: "ERROR",
        message: "ProviderStreamError: The server is overloaded"
      })
    }).pipe(Effect.provide(traced(fakeModel(
      [],
      Stream.fromIterable([
        ...streamParts("hello").slice(0, 3),
        { type: "error", error: { type: "overloaded_error", message: "The server is overloaded" } } as const
      ])
    )))))

  it.effect("records the response format of generateObject", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateObject({
        prompt: "A city",
        schema: Schema.Struct({ name: Schema.String }),
        objectName: "City"
      })
      assert.deepStrictEqual(response.value, { name: "Paris" })
      const [trace] = yield* TestTracing.traces
      assert.strictEqual(trace.spans[0].name, "LanguageModel.generateObject")
      assert.deepStrictEqual((attrs(trace.spans[0])["mlflow.spanInputs"] as any).response_format, {
        type: "json_schema",
        json_schema: {
          name: "City",
          schema: {
            $schema: "http://json-schema.org/draft-07/schema#",
            type: "object",
            required: ["name"],
            properties: { name: { type: "string" } },
            additionalProperties: false
          }
        }
      })
    }).pipe(Effect.provide(traced(fakeModel([textReply("{\"name\":\"Paris\"}")])))))

  it.effect("records nothing and changes nothing when tracing is off", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "Hi", toolkit: Weather })
      assert.deepStrictEqual(response.toolResults.map((r) => r.result), [{ celsius: 5 }])
      assert.deepStrictEqual(yield* TestTracing.traces, [])
    }).pipe(
      Effect.withTracerEnabled(false),
      Effect.provide(traced(fakeModel([toolCallReply("call_1", "GetWeather", { city: "Paris" })]))),
      Effect.provide(WeatherHandlers)
    ))

  it.effect("resolves tool calls of a stream in TOOL spans under the stream's span", () =>
    Effect.gen(function*() {
      const parts = yield* LanguageModel.streamText({ prompt: "Weather?", toolkit: Weather }).pipe(
        Stream.runCollect,
        Effect.withSpan("chat")
      )
      assert.deepStrictEqual(
        Chunk.toReadonlyArray(parts).filter((p) => p.type === "tool-result").map((p: any) => p.result),
        [{ celsius: 4 }]
      )
      const [trace] = yield* TestTracing.traces
      const stream = TestTracing.findSpan(trace, "LanguageModel.streamText")!
      const tool = TestTracing.findSpan(trace, "GetWeather")!
      const lookup = TestTracing.findSpan(trace, "lookup")!
      assert.strictEqual(tool.parentSpanId, stream.spanId)
      assert.strictEqual(lookup.parentSpanId, tool.spanId)
      assert.strictEqual(tool.attributes["mlflow.spanType"], "TOOL")
      assert.deepStrictEqual(stream.attributes["mlflow.chat.tools"], [getWeatherTool])
      assert.deepStrictEqual((stream.attributes["mlflow.spanOutputs"] as any).choices[0].message.tool_calls, [{
        id: "call_9",
        type: "function",
        function: { name: "GetWeather", arguments: "{\"city\":\"Rome\"}" }
      }])
      assert.deepStrictEqual(trace.spans.map((s) => s.name).sort(), [
        "GetWeather",
        "LanguageModel.streamText",
        "chat",
        "lookup"
      ])
    }).pipe(
      Effect.provide(traced(fakeModel(
        [],
        Stream.fromIterable(
          [
            { type: "tool-call", id: "call_9", name: "GetWeather", params: { city: "Rome" } },
            { type: "finish", reason: "tool-calls", usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } }
          ] as const
        )
      ))),
      Effect.provide(WeatherHandlers)
    ))

  it.effect("with propagateTraceContext, the provider's own span is merged into ours, for calls and streams", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({ prompt: "Hi", toolkit: Weather })
      yield* Stream.runDrain(
        LanguageModel.streamText({ prompt: "Hi" }).pipe(Stream.tap(() => Effect.withSpan(Effect.void, "consume")))
      )
    }).pipe(
      Effect.withSpan("chat"),
      Effect.zipRight(TestTracing.traces),
      Effect.map(([trace]) => {
        const names = trace.spans.map((s) => s.name).sort()
        assert.deepStrictEqual(
          names,
          [
            "GetWeather",
            "LanguageModel.generateText",
            "LanguageModel.streamText",
            "chat",
            ...Array(7).fill("consume"),
            "lookup"
          ].sort()
        )
        const stream = TestTracing.findSpan(trace, "LanguageModel.streamText")!
        assert.strictEqual(stream.attributes["mlflow.spanType"], "CHAT_MODEL")
        assert.strictEqual(
          TestTracing.findSpan(trace, "GetWeather")!.parentSpanId,
          TestTracing.findSpan(trace, "LanguageModel.generateText")!.spanId
        )
        assert.isTrue(
          trace.spans.filter((s) => s.name === "consume").every((s) => s.parentSpanId === trace.spans[0].spanId)
        )
      }),
      Effect.provide(traced(
        fakeModel([toolCallReply("call_1", "GetWeather", { city: "Rome" })], Stream.fromIterable(streamParts("a b c"))),
        { propagateTraceContext: true }
      )),
      Effect.provide(WeatherHandlers)
    ))

  it.effect("ends the stream span when its consumer stops early, with what it took", () =>
    Effect.gen(function*() {
      const taken = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(Stream.take(3), Stream.runCollect)
      assert.strictEqual(taken.length, 3)
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.strictEqual(span.status.code, "OK")
      assert.strictEqual(span.events.length, 3)
      assert.strictEqual((attrs(span)["mlflow.spanOutputs"] as any).choices[0].message.content, "one")
    }).pipe(
      Effect.provide(traced(fakeModel([], Stream.rechunk(Stream.fromIterable(streamParts("one two three four")), 1))))
    ))

  it.effect("with Redaction.dropContent, a stream keeps its usage and timings but no content", () =>
    Effect.gen(function*() {
      yield* Stream.runDrain(LanguageModel.streamText({ prompt: "my secret question" }))
      const [trace] = yield* TestTracing.traces
      const span = trace.spans[0]
      assert.isUndefined(attrs(span)["mlflow.spanInputs"])
      assert.isUndefined(attrs(span)["mlflow.spanOutputs"])
      assert.deepStrictEqual(attrs(span)["mlflow.chat.tokenUsage"], {
        input_tokens: 12,
        output_tokens: 4,
        total_tokens: 16,
        cache_read_input_tokens: 3
      })
      assert.isNumber(attrs(span)["effect_mlflow.time_to_first_token_ms"])
      assert.strictEqual(span.events.length, 7)
      assert.isTrue(span.events.every((event) => Object.keys(event.attributes).length === 0))
      assert.notInclude(JSON.stringify(trace, (_, v) => typeof v === "bigint" ? String(v) : v), "secret question")
    }).pipe(Effect.provide(Layer.provideMerge(
      TracedLanguageModel.fromLayer(fakeModel([], Stream.fromIterable(streamParts("private words here")))),
      TestTracing.layer({ spanProcessors: [Redaction.dropContent({ spanTypes: ["CHAT_MODEL"] })] })
    ))))

  it.effect("records the tools of a toolkit known only once resolved", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: Effect.map(Weather, (toolkit) => toolkit) })
      const [trace] = yield* TestTracing.traces
      const model = TestTracing.findSpan(trace, "LanguageModel.generateText")!
      assert.deepStrictEqual(attrs(model)["mlflow.chat.tools"], [getWeatherTool])
      assert.deepStrictEqual((attrs(model)["mlflow.spanInputs"] as any).tools, [getWeatherTool])
      assert.strictEqual(TestTracing.spansOfType(trace, "TOOL").length, 1)
    }).pipe(
      Effect.provide(traced(fakeModel([toolCallReply("call_1", "GetWeather", { city: "Oslo" })]))),
      Effect.provide(WeatherHandlers)
    ))

  it("records tool arguments safely: cycles, bigint and Redacted values", () => {
    const args: any = { n: 10n, key: Redacted.make("sk-hidden") }
    args.self = args
    const [message] = ChatFormat.messages([{
      role: "assistant",
      content: [{ type: "tool-call", id: "c", name: "t", params: args, providerExecuted: false }]
    }])
    assert.strictEqual(
      message.tool_calls?.[0].function.arguments,
      "{\"n\":\"10\",\"key\":\"<redacted>\",\"self\":\"[Circular]\"}"
    )
  })
})
