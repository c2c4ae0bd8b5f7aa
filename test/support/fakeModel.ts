import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { Effect, Layer, Stream } from "effect"

/** A scripted reply of the fake model: the encoded parts a provider would return. */
export type Reply = ReadonlyArray<Response.PartEncoded>

export const usage = (inputTokens: number, outputTokens: number, cachedInputTokens?: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
  ...(cachedInputTokens === undefined ? {} : { cachedInputTokens })
})

export const textReply = (text: string, input = 10, output = 5): Reply => [
  { type: "response-metadata", id: "resp_1", modelId: "fake-model-1" },
  { type: "text", text },
  { type: "finish", reason: "stop", usage: usage(input, output) }
]

export const toolCallReply = (id: string, name: string, params: unknown): Reply => [
  { type: "tool-call", id, name, params },
  { type: "finish", reason: "tool-calls", usage: usage(20, 8) }
]

/** Stream parts of a text reply, one delta per word. */
export const streamParts = (text: string): ReadonlyArray<Response.StreamPartEncoded> => [
  { type: "response-metadata", id: "resp_s", modelId: "fake-model-1" },
  { type: "text-start", id: "t" },
  ...text.split(" ").map((word, i) => ({ type: "text-delta" as const, id: "t", delta: i === 0 ? word : ` ${word}` })),
  { type: "text-end", id: "t" },
  { type: "finish", reason: "stop", usage: usage(12, 4, 3) }
]

/**
 * A `LanguageModel` answering scripted replies in order (the last one repeats); `stream` decides
 * what `streamText` emits.
 */
export const fakeModel = (
  replies: ReadonlyArray<Reply>,
  stream: Stream.Stream<Response.StreamPartEncoded, any> = Stream.empty
): Layer.Layer<LanguageModel.LanguageModel> => {
  let call = 0
  return Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () => Effect.sync(() => [...replies[Math.min(call++, replies.length - 1)]]),
      streamText: () => stream
    })
  )
}

/** The OpenAI function tool that `GetWeather` (city: string) is recorded as. */
export const getWeatherTool = {
  type: "function",
  function: {
    name: "GetWeather",
    description: "Current weather of a city",
    parameters: {
      type: "object",
      required: ["city"],
      properties: { city: { type: "string" } },
      additionalProperties: false
    }
  }
}
