import { FastCheck as fc } from "effect"

/**
 * Finalization cases for MLflow 3.18's client functions as the judge: root inputs and outputs
 * (plain text, chat payloads of every shape MLflow reads, emoji and other astral characters around
 * the 250 and 1000 character limits, NUL), previews set by hand (empty, short, long), and span
 * trees carrying token usage of every shape (well-formed, partial, the cache keys, booleans,
 * strings, null, objects that are not usage).
 */
export interface FinalizeCase {
  readonly inputs?: unknown
  readonly outputs?: unknown
  readonly requestPreview?: string
  readonly responsePreview?: string
  /** [spanId, parentId, usage?]; the first is the root */
  readonly spans: ReadonlyArray<readonly [string, string | null, unknown?]>
}

const EMOJI = "😀"
const around = (n: number) => [n - 4, n - 3, n - 2, n - 1, n, n + 1, n + 2]
const fill = (length: number, unit: string) => unit.repeat(Math.max(0, length))

/** text whose length in code points straddles `n`, with astral characters where a cut would fall */
const boundaryTexts = (n: number): Array<string> =>
  around(n).flatMap((length) => [
    fill(length, "a"),
    fill(length, EMOJI),
    fill(length - 5, "a") + fill(5, EMOJI),
    fill(length - 3, "é") + "𝄞" + "中文",
    fill(length - 1, "a") + "\u0000"
  ])

const chat = (content: unknown) => ({ messages: [{ role: "system", content: "be brief" }, { role: "user", content }] })

const shapes = (text: string): Array<unknown> => [
  text,
  { question: text },
  chat(text),
  chat([{ type: "image_url", image_url: { url: "x" } }, { type: "text", text }]),
  { choices: [{ message: { role: "assistant", content: text } }] },
  { input: [{ role: "user", content: text }] },
  { output: [{ role: "assistant", content: [{ type: "output_text", text }] }] },
  { request: { input: [{ role: "user", content: text }] } },
  chat(""),
  { messages: [] },
  [text, 1, true, null]
]

const USAGE_KEYS = [
  "input_tokens",
  "output_tokens",
  "total_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
  "cache_creation_input_tokens_above_1hr",
  "reasoning_tokens"
]

const count = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 100_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(1.5, 0.25, true, false, null, "12", [], {}) }
)
const usage = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...USAGE_KEYS), count, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, "{\"input_tokens\": 1}", 5, true, [1, 2]) }
)

/** a random tree: each span's parent is an earlier span (or, rarely, one that is not in the trace) */
const spanTree = fc.integer({ min: 1, max: 7 }).chain((size) =>
  fc.tuple(
    ...Array.from({ length: size }, (_, i) =>
      fc.tuple(
        i === 0 ? fc.constant(null) : fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 0, max: i - 1 }).map((p) => `s${p}`) },
          { weight: 1, arbitrary: fc.constant("elsewhere") }
        ),
        fc.option(usage, { nil: undefined, freq: 2 })
      ).map(([parent, use]): readonly [string, string | null, unknown?] =>
        use === undefined ? [`s${i}`, parent] : [`s${i}`, parent, use]
      ))
  )
)

export const finalizeCases = (): Array<FinalizeCase> => {
  const texts = [...boundaryTexts(250), ...boundaryTexts(1000), "", "plain", "中文 and 😀", "a\u0000b"]
  const payloads: Array<FinalizeCase> = texts.flatMap((text) =>
    shapes(text).map((value, i) => ({
      inputs: value,
      ...(i % 2 === 0 ? { outputs: shapes(text)[(i + 4) % 11] } : {}),
      spans: [["s0", null]] as const
    }))
  )
  const previews: Array<FinalizeCase> = ["", "set by hand", "with\u0000nul", fill(999, EMOJI) + "ab", fill(1001, "a")]
    .map((requestPreview, i) => ({
      inputs: chat("derived"),
      outputs: "out",
      requestPreview,
      ...(i % 2 === 0 ? { responsePreview: requestPreview } : {}),
      spans: [["s0", null]] as const
    }))
  const usages: Array<FinalizeCase> = fc.sample(spanTree, { numRuns: 1500, seed: 20261203 })
    .map((spans) => ({ inputs: { q: 1 }, spans }))
  return [...payloads, ...previews, ...usages, { spans: [["s0", null]] }]
}
