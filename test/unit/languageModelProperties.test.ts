import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, FastCheck as fc, Layer, Stream } from "effect"
import * as TracedLanguageModel from "../../src/providers/TracedLanguageModel.js"
import * as TestTracing from "../../src/testing/TestTracing.js"
import { usage } from "../support/fakeModel.js"

/** A random stream: text deltas with optional error parts, optionally failing after some parts. */
const scenario = fc.record({
  words: fc.array(fc.string({ maxLength: 8 }), { maxLength: 12 }),
  errorPart: fc.option(fc.nat(12), { nil: undefined }),
  failAfter: fc.option(fc.nat(14), { nil: undefined }),
  take: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
  maxChunkEvents: fc.integer({ min: 0, max: 20 })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

const partsOf = (s: Scenario): Array<Response.StreamPartEncoded> => {
  const parts: Array<Response.StreamPartEncoded> = [{ type: "text-start", id: "t" }]
  s.words.forEach((delta, i) => {
    if (s.errorPart === i) parts.push({ type: "error", error: { message: "vendor error" } })
    parts.push({ type: "text-delta", id: "t", delta })
  })
  parts.push({ type: "text-end", id: "t" }, { type: "finish", reason: "stop", usage: usage(3, s.words.length) })
  return parts
}

const modelFor = (s: Scenario) => {
  const parts = partsOf(s)
  const stream: Stream.Stream<Response.StreamPartEncoded, AiError.AiError> = s.failAfter === undefined
    ? Stream.fromIterable(parts)
    : Stream.concat(
      Stream.fromIterable(parts.slice(0, s.failAfter)),
      Stream.fail(new AiError.UnknownError({ module: "Fake", method: "stream", description: "cut" }))
    )
  return Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () => Effect.succeed(parts.filter((p) => p.type === "finish")),
      streamText: () => Stream.rechunk(stream, 1)
    })
  )
}

const consume = (s: Scenario) => {
  const stream = LanguageModel.streamText({ prompt: "go" })
  return Stream.runCollect(s.take === undefined ? stream : Stream.take(stream, s.take)).pipe(
    Effect.map(Chunk.toReadonlyArray),
    Effect.map((parts) => parts.map(({ type, ...rest }) => ({ type, delta: (rest as any).delta }))),
    Effect.exit
  )
}

describe("traced language model properties", () => {
  it.effect("a stream gives the same result traced and untraced, and its span ends once with the matching status", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const plain = await Effect.runPromise(consume(s).pipe(Effect.provide(modelFor(s))))
          const { exit, traces } = await Effect.runPromise(
            Effect.gen(function*() {
              const exit = yield* consume(s)
              return { exit, traces: yield* TestTracing.traces }
            }).pipe(
              Effect.provide(Layer.provideMerge(
                TracedLanguageModel.fromLayer(modelFor(s), { maxChunkEvents: s.maxChunkEvents }),
                TestTracing.layer()
              ))
            )
          )
          expect(exit).toStrictEqual(plain)
          expect(traces).toHaveLength(1)
          const [span] = traces[0].spans
          expect(span.events.filter((e) => e.name.startsWith("mlflow.chunk.item.")).length).toBeLessThanOrEqual(
            s.maxChunkEvents
          )
          const sawErrorPart = Exit.isSuccess(exit) && exit.value.some((part) => part.type === "error")
          expect(span.status.code).toBe(Exit.isFailure(exit) || sawErrorPart ? "ERROR" : "OK")
          if (sawErrorPart) expect(span.status.message).toBe("ProviderStreamError: vendor error")
        }),
        { numRuns: 150 }
      )
    ))
})
