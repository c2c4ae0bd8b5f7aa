import type { SpanData } from "../../Trace.js"
import { SpanAttributeKey } from "../common/keys.js"
import { OPTIONAL_USAGE_KEYS, USAGE_KEYS } from "../prepare/derived.js"

/**
 * MLflow 3.18's server adds up token usage and cost from the spans it is sent, and fails the whole
 * request (every trace in it) when a count it sums is neither a number nor a boolean: `"12"`, `null`,
 * an object. Such an attribute goes to the server under `effect_mlflow.unsummable.<key>`, as set: the
 * trace is stored, without token usage (as MLflow's client records none for it), and the value stays
 * visible on its span.
 */

const SUMMED: Readonly<Record<string, ReadonlyArray<string>>> = {
  [SpanAttributeKey.CHAT_USAGE]: [...USAGE_KEYS, ...OPTIONAL_USAGE_KEYS],
  [SpanAttributeKey.LLM_COST]: ["input_cost", "output_cost", "total_cost"]
}

/** @internal Where an attribute the server cannot add up goes instead. */
export const UNSUMMABLE_PREFIX = "effect_mlflow.unsummable."

const unsummable = (value: SpanData["attributes"][string], keys: ReadonlyArray<string>): boolean => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const record = value as { readonly [key: string]: unknown }
  return keys.some((key) => key in record && typeof record[key] !== "number" && typeof record[key] !== "boolean")
}

/**
 * `spans` as the server can store them: the same array when none holds an unsummable attribute.
 *
 * @internal
 */
export const summable = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => {
  let out: Array<SpanData> | undefined
  spans.forEach((span, i) => {
    let attributes: Record<string, SpanData["attributes"][string]> | undefined
    for (const key in SUMMED) {
      const value = span.attributes[key]
      if (value !== undefined && unsummable(value, SUMMED[key])) {
        attributes ??= { ...span.attributes }
        delete attributes[key]
        attributes[UNSUMMABLE_PREFIX + key] = value
      }
    }
    if (attributes !== undefined) {
      out ??= spans.slice()
      out[i] = { ...span, attributes }
    }
  })
  return out ?? spans
}
