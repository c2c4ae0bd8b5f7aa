/**
 * Safe snapshotting of arbitrary values into JSON-compatible trees.
 *
 * Rules (deterministic, never throw):
 * - strings are made well-formed (lone surrogates become U+FFFD); past `maxStringLength` they are
 *   cut and end with `...[truncated N chars]`, except binary content written as text (a base64
 *   `data:` URI, or base64 under a key where the vendors' message shapes put it), which is kept whole:
 *   the export stage moves it into an attachment, or cuts it to the payload budgets where the
 *   destination stores none (the string is the caller's: keeping it copies nothing);
 * - arrays (and sets, maps, typed arrays) past `maxItems` keep their first items and end with
 *   `"[... N more items]"`; objects past `maxItems` keys get a `"..."` key saying how many were left out;
 * - finite numbers and booleans are kept; `NaN`, `Infinity` and `-Infinity` become their names;
 * - `bigint` becomes its decimal string, `symbol` its description, a function `"[Function name]"`;
 * - `undefined` is dropped from objects and becomes `null` elsewhere;
 * - `Date` becomes its ISO string, `Error` an object with `name`, `message`, `stack` and `cause`;
 * - `Map` with string keys becomes an object, otherwise an array of `[key, value]` pairs; `Set` an array;
 * - binary data (typed arrays, `ArrayBuffer`, `DataView`) becomes `{ type, base64 }`;
 * - `Redacted` values become `"<redacted>"`; objects with `toJSON` (Option, Either, Exit...) use it;
 * - cycles become `"[Circular]"`, nesting past `maxDepth` becomes `"[MaxDepth]"`;
 * - a value or property whose inspection throws (getters, proxies, `toJSON`) becomes
 *   `"[Unserializable: <message>]"`, the rest of the value is kept.
 *
 * @internal
 */

import { bytesToBase64 } from "../common/bytes.js"
import { type Json, setOwn } from "../common/json.js"

/** @internal */
export interface SnapshotOptions {
  readonly maxDepth: number
  readonly maxStringLength: number
  readonly maxItems: number
}

/** @internal Where `snapshot` adds up what it cut (characters, items, keys, bytes). */
export interface CutReport {
  removed: number
}

/** @internal */
export const defaultSnapshotOptions: SnapshotOptions = { maxDepth: 64, maxStringLength: 1_000_000, maxItems: 10_000 }

const redactedSymbol = Symbol.for("effect/Redacted")

/** @internal */
export const snapshot = (
  value: unknown,
  options: SnapshotOptions = defaultSnapshotOptions,
  report?: CutReport
): Json => {
  try {
    return walk(value, options, 0, { seen: new Set(), report })
  } catch (error) {
    return `[Unserializable: ${describeError(error)}]`
  }
}

/** One snapshot in progress: the objects on the path from its root (to find cycles), where its cuts add up. */
interface Walk {
  readonly seen: Set<object>
  readonly report: CutReport | undefined
}

const cutBy = (state: Walk, n: number) => {
  if (state.report !== undefined) state.report.removed += n
}

/** @internal The message of something thrown, as far as it can be read. */
export const describeError = (error: unknown): string => {
  try {
    return error instanceof Error ? error.message : String(error)
  } catch {
    return "unknown error"
  }
}

/** A base64 `data:` URI, which attachment extraction turns into an attachment. */
const DATA_URI = /^data:[^;,]{1,200};base64,[A-Za-z0-9+/]*={0,2}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
/** Where the vendors' message shapes put base64 content (see `prepare/attachments.ts`). */
const BINARY_KEYS = new Set(["data", "b64_json", "bytes", "result"])

/** A string past the length bound kept whole: a base64 `data:` URI, wherever it is. */
const isDataUri = (s: string): boolean => s.startsWith("data:") && DATA_URI.test(s)

/** A string past the length bound kept whole: base64 under a vendor shape's content key. */
const isBase64Field = (key: string, s: string): boolean => BINARY_KEYS.has(key) && BASE64.test(s)

const wellFormed = (state: Walk, s: string, max: number): string => {
  if (s.length > max) {
    cutBy(state, s.length - max)
    const cut = s.slice(0, max)
    return (cut.isWellFormed() ? cut : cut.toWellFormed()) + `...[truncated ${s.length - max} chars]`
  }
  return s.isWellFormed() ? s : s.toWellFormed()
}

const moreItems = (n: number): string => `[... ${n} more items]`

const capped = <A>(state: Walk, items: Iterable<A>, max: number, f: (item: A) => Json): Array<Json> => {
  const out: Array<Json> = []
  let extra = 0
  for (const item of items) {
    if (out.length < max) out.push(f(item))
    else extra++
  }
  if (extra > 0) {
    cutBy(state, extra)
    out.push(moreItems(extra))
  }
  return out
}

const walk = (value: unknown, options: SnapshotOptions, depth: number, state: Walk): Json => {
  switch (typeof value) {
    case "string":
      return value.length > options.maxStringLength && isDataUri(value)
        ? value
        : wellFormed(state, value, options.maxStringLength)
    case "number":
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : String(value)
    case "boolean":
      return value
    case "bigint":
      return value.toString()
    case "symbol":
      return value.description ?? "Symbol()"
    case "function":
      return `[Function ${value.name || "anonymous"}]`
    case "undefined":
      return null
  }
  if (value === null) return null
  const obj = value as object
  if (state.seen.has(obj)) return "[Circular]"
  if (depth >= options.maxDepth) return "[MaxDepth]"
  state.seen.add(obj)
  try {
    return walkObject(obj, options, depth + 1, state)
  } catch (error) {
    return `[Unserializable: ${describeError(error)}]`
  } finally {
    state.seen.delete(obj)
  }
}

const walkObject = (obj: object, options: SnapshotOptions, depth: number, state: Walk): Json => {
  if (Array.isArray(obj)) return capped(state, obj, options.maxItems, (item) => walk(item, options, depth, state))
  if (redactedSymbol in obj) return "<redacted>"
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString()
  if (obj instanceof Error) return errorToJson(obj, options, depth, state)
  if (obj instanceof Map) return mapToJson(obj, options, depth, state)
  if (obj instanceof Set) return capped(state, obj, options.maxItems, (item) => walk(item, options, depth, state))
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return binaryToJson(state, obj, options)
  if (obj instanceof RegExp) return obj.toString()
  if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
    const json = (obj as { toJSON: () => unknown }).toJSON()
    return json === obj ? plainObject(obj, options, depth, state) : walk(json, options, depth, state)
  }
  return plainObject(obj, options, depth, state)
}

const plainObject = (obj: object, options: SnapshotOptions, depth: number, state: Walk): Json => {
  const out: Record<string, Json> = {}
  const keys = Object.keys(obj)
  if (keys.length > options.maxItems) {
    cutBy(state, keys.length - options.maxItems)
    out["..."] = `[${keys.length - options.maxItems} more keys]`
    keys.length = options.maxItems
  }
  for (const key of keys) {
    let item: unknown
    try {
      item = (obj as Record<string, unknown>)[key]
    } catch (error) {
      out[key] = `[Unserializable: ${describeError(error)}]`
      continue
    }
    if (item === undefined) continue
    // a data: URI is kept by `walk` itself
    const binary = typeof item === "string" && item.length > options.maxStringLength && isBase64Field(key, item)
    setOwn(out, wellFormed(state, key, options.maxStringLength), binary ? item : walk(item, options, depth, state))
  }
  return out
}

const errorToJson = (error: Error, options: SnapshotOptions, depth: number, state: Walk): Json => {
  const out: Record<string, Json> = { name: String(error.name), message: String(error.message) }
  if (typeof error.stack === "string") out.stack = error.stack
  if (error.cause !== undefined) out.cause = walk(error.cause, options, depth, state)
  for (const key of Object.keys(error)) {
    if (!(key in out)) {
      const item = (error as unknown as Record<string, unknown>)[key]
      if (item !== undefined) setOwn(out, key, walk(item, options, depth, state))
    }
  }
  return out
}

const mapToJson = (map: Map<unknown, unknown>, options: SnapshotOptions, depth: number, state: Walk): Json => {
  let stringKeys = true
  for (const key of map.keys()) {
    if (typeof key !== "string") {
      stringKeys = false
      break
    }
  }
  if (stringKeys && map.size <= options.maxItems) {
    const out: Record<string, Json> = {}
    for (const [key, item] of map) setOwn(out, key as string, walk(item, options, depth, state))
    return out
  }
  return capped(
    state,
    map,
    options.maxItems,
    ([key, item]) => [walk(key, options, depth, state), walk(item, options, depth, state)]
  )
}

const binaryToJson = (state: Walk, view: ArrayBufferView | ArrayBuffer, options: SnapshotOptions): Json => {
  const bytes = view instanceof ArrayBuffer
    ? new Uint8Array(view)
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  // base64 takes 4 characters per 3 bytes: keep what fits in the string budget
  const keep = Math.min(bytes.length, Math.floor(options.maxStringLength / 4) * 3)
  const out: Record<string, Json> = {
    type: view.constructor?.name ?? "ArrayBuffer",
    byteLength: bytes.length,
    base64: bytesToBase64(bytes.subarray(0, keep))
  }
  if (keep < bytes.length) {
    cutBy(state, bytes.length - keep)
    out.truncated = `${bytes.length - keep} bytes left out`
  }
  return out
}
