import type { Json } from "../../common/json.js"
import { dumps } from "../pythonJson.js"

/**
 * What the GenAI converters share: Python's semantics over JSON values (MLflow's conversion is
 * Python: where it raises, `Unconvertible` is thrown), the converter's shape, and the request and
 * response attributes every format has.
 */

/** @internal */
export type Attributes = Record<string, Json>
/** @internal */
export type JsonObject = { readonly [key: string]: Json }

/** A value that fails where Python's conversion raises (a missing key, `.get` on a non-dict). */
/** @internal */
export class Unconvertible extends Error {}

/** @internal */
export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Python's truthiness of a JSON value */
/** @internal */
export const truthy = (value: Json | undefined): boolean =>
  value !== undefined && value !== null && value !== false && value !== 0 && value !== "" &&
  !(Array.isArray(value) && value.length === 0) && !(isObject(value) && Object.keys(value).length === 0)

/** `dict.get`: raises on anything that is not a dict */
/** @internal */
export const get = (value: Json | undefined, key: string): Json | undefined => {
  if (!isObject(value)) throw new Unconvertible()
  return Object.hasOwn(value, key) ? value[key] : undefined
}

/** `dict.get(key, fallback)`: the fallback only when the key is missing (a `null` stays) */
/** @internal */
export const getOr = (value: Json | undefined, key: string, fallback: Json): Json =>
  get(value, key) ?? (isObject(value) && Object.hasOwn(value, key) ? null : fallback)

/** `dict[key]`: raises when the key is missing */
/** @internal */
export const at = (value: Json | undefined, key: string): Json => {
  const found = get(value, key)
  if (found === undefined) throw new Unconvertible()
  return found
}

/** `for item in value`: a string's characters, a dict's keys, a list's items; raises otherwise */
/** @internal */
export const iterate = (value: Json | undefined): ReadonlyArray<Json> => {
  if (Array.isArray(value)) return value
  if (typeof value === "string") return [...value]
  if (isObject(value)) return Object.keys(value)
  throw new Unconvertible()
}

/** Python's `str()` of a JSON value */
/** @internal */
export const pyStr = (value: Json): string => typeof value === "string" ? value : pyRepr(value)

const pyRepr = (value: Json): string => {
  if (value === null) return "None"
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False"
    case "number":
      return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloat(value)
    case "string":
      return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`
  return `{${Object.entries(value as JsonObject).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`
}

const pythonFloat = (value: number): string => {
  if (Number.isNaN(value)) return "nan"
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
  return dumps(value)
}

/** @internal */
export interface Converter {
  readonly inputs: (inputs: Json) => Json | undefined
  readonly system: (inputs: Json) => Json | undefined
  readonly outputs: (outputs: Json) => Json | undefined
  readonly params: (inputs: Json) => Attributes
  readonly response: (outputs: Json) => Attributes
}

const REQUEST_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ["temperature", "gen_ai.request.temperature"],
  ["max_tokens", "gen_ai.request.max_tokens"],
  ["top_p", "gen_ai.request.top_p"],
  ["stop", "gen_ai.request.stop_sequences"],
  ["tools", "gen_ai.tool.definitions"]
]

/** @internal */
export const baseParams = (inputs: Json): Attributes => {
  const out: Attributes = {}
  for (const [source, key] of REQUEST_PARAMS) {
    const value = get(inputs, source)
    if (value === undefined || value === null) continue
    out[key] = key === "gen_ai.tool.definitions"
      ? dumps(value)
      : key === "gen_ai.request.stop_sequences" && typeof value === "string"
      ? [value]
      : value
  }
  return out
}

/** @internal */
export const baseResponse = (outputs: Json): Attributes => {
  const out: Attributes = {}
  const id = get(outputs, "id")
  if (truthy(id)) out["gen_ai.response.id"] = id!
  const model = get(outputs, "model")
  if (truthy(model)) out["gen_ai.response.model"] = model!
  return out
}

/** @internal */
export const text = (content: Json): Json => ({ type: "text", content })
