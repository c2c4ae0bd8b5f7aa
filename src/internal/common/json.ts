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

import { bytesToBase64 } from "./bytes.js"

/** @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** @internal */
export interface SnapshotOptions {
  readonly maxDepth: number
  readonly maxStringLength: number
  readonly maxItems: number
}

/**
 * Sets an own property, also for the key `"__proto__"` (which plain assignment would turn into a
 * prototype change): keys here come from user data.
 *
 * @internal
 */
export const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else target[key] = value
}

/**
 * A user-supplied attribute, event, tag or metadata key, safe to use on the plain objects the
 * pipeline builds: `"__proto__"` becomes `"[__proto__]"` (keys inside values stay as they are).
 *
 * @internal
 */
export const safeKey = (key: string): string => key === "__proto__" ? "[__proto__]" : key

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
  current = report
  try {
    return walk(value, options, 0, new Set())
  } catch (error) {
    return `[Unserializable: ${describeError(error)}]`
  } finally {
    current = undefined
  }
}

// the report of the snapshot in progress (snapshots are synchronous and never nest)
let current: CutReport | undefined
const cutBy = (n: number) => {
  if (current !== undefined) current.removed += n
}

const describeError = (error: unknown): string => {
  try {
    return error instanceof Error ? error.message : String(error)
  } catch {
    return "unknown error"
  }
}

const wellFormed = (s: string, max: number): string => {
  if (s.length > max) {
    cutBy(s.length - max)
    const cut = s.slice(0, max)
    return (cut.isWellFormed() ? cut : cut.toWellFormed()) + `...[truncated ${s.length - max} chars]`
  }
  return s.isWellFormed() ? s : s.toWellFormed()
}

/** A base64 `data:` URI, which attachment extraction turns into an attachment. */
const DATA_URI = /^data:[^;,]{1,200};base64,[A-Za-z0-9+/]*={0,2}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
/** Where the vendors' message shapes put base64 content (see `format/attachments.ts`). */
const BINARY_KEYS = new Set(["data", "b64_json", "bytes", "result"])

/** A string past the length bound that is binary content written as text, kept whole. */
const isBinaryText = (s: string, key: string | undefined): boolean =>
  s.startsWith("data:") ? DATA_URI.test(s) : key !== undefined && BINARY_KEYS.has(key) && BASE64.test(s)

const moreItems = (n: number): string => `[... ${n} more items]`

const capped = <A>(items: Iterable<A>, max: number, f: (item: A) => Json): Array<Json> => {
  const out: Array<Json> = []
  let extra = 0
  for (const item of items) {
    if (out.length < max) out.push(f(item))
    else extra++
  }
  if (extra > 0) {
    cutBy(extra)
    out.push(moreItems(extra))
  }
  return out
}

const walk = (value: unknown, options: SnapshotOptions, depth: number, seen: Set<object>): Json => {
  switch (typeof value) {
    case "string":
      return value.length > options.maxStringLength && isBinaryText(value, undefined)
        ? value
        : wellFormed(value, options.maxStringLength)
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
  if (seen.has(obj)) return "[Circular]"
  if (depth >= options.maxDepth) return "[MaxDepth]"
  seen.add(obj)
  try {
    return walkObject(obj, options, depth + 1, seen)
  } catch (error) {
    return `[Unserializable: ${describeError(error)}]`
  } finally {
    seen.delete(obj)
  }
}

const walkObject = (obj: object, options: SnapshotOptions, depth: number, seen: Set<object>): Json => {
  if (Array.isArray(obj)) return capped(obj, options.maxItems, (item) => walk(item, options, depth, seen))
  if (redactedSymbol in obj) return "<redacted>"
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString()
  if (obj instanceof Error) return errorToJson(obj, options, depth, seen)
  if (obj instanceof Map) return mapToJson(obj, options, depth, seen)
  if (obj instanceof Set) return capped(obj, options.maxItems, (item) => walk(item, options, depth, seen))
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return binaryToJson(obj, options)
  if (obj instanceof RegExp) return obj.toString()
  if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
    const json = (obj as { toJSON: () => unknown }).toJSON()
    return json === obj ? plainObject(obj, options, depth, seen) : walk(json, options, depth, seen)
  }
  return plainObject(obj, options, depth, seen)
}

const plainObject = (obj: object, options: SnapshotOptions, depth: number, seen: Set<object>): Json => {
  const out: Record<string, Json> = {}
  const keys = Object.keys(obj)
  if (keys.length > options.maxItems) {
    cutBy(keys.length - options.maxItems)
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
    const binary = typeof item === "string" && item.length > options.maxStringLength && isBinaryText(item, key)
    setOwn(out, wellFormed(key, options.maxStringLength), binary ? item : walk(item, options, depth, seen))
  }
  return out
}

const errorToJson = (error: Error, options: SnapshotOptions, depth: number, seen: Set<object>): Json => {
  const out: Record<string, Json> = { name: String(error.name), message: String(error.message) }
  if (typeof error.stack === "string") out.stack = error.stack
  if (error.cause !== undefined) out.cause = walk(error.cause, options, depth, seen)
  for (const key of Object.keys(error)) {
    if (!(key in out)) {
      const item = (error as unknown as Record<string, unknown>)[key]
      if (item !== undefined) setOwn(out, key, walk(item, options, depth, seen))
    }
  }
  return out
}

const mapToJson = (map: Map<unknown, unknown>, options: SnapshotOptions, depth: number, seen: Set<object>): Json => {
  let stringKeys = true
  for (const key of map.keys()) {
    if (typeof key !== "string") {
      stringKeys = false
      break
    }
  }
  if (stringKeys && map.size <= options.maxItems) {
    const out: Record<string, Json> = {}
    for (const [key, item] of map) setOwn(out, key as string, walk(item, options, depth, seen))
    return out
  }
  return capped(
    map,
    options.maxItems,
    ([key, item]) => [walk(key, options, depth, seen), walk(item, options, depth, seen)]
  )
}

const binaryToJson = (view: ArrayBufferView | ArrayBuffer, options: SnapshotOptions): Json => {
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
    cutBy(bytes.length - keep)
    out.truncated = `${bytes.length - keep} bytes left out`
  }
  return out
}

/**
 * `JSON.stringify` with Python's `json.dumps(..., ensure_ascii=False)` separators (`", "` and `": "`),
 * so strings we compute (previews, legacy metadata) match what MLflow's Python SDK writes.
 *
 * @internal
 */
export const dumps = (value: Json): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return pythonNumber(value)
    case "boolean":
      return value ? "true" : "false"
  }
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ", ") + dumps(value[i])
    return out + "]"
  }
  let out = "{"
  let first = true
  for (const [key, item] of Object.entries(value as Record<string, Json>)) {
    out += (first ? "" : ", ") + JSON.stringify(key) + ": " + dumps(item)
    first = false
  }
  return out + "}"
}

/**
 * The start of `dumps(value)`: equal to `dumps(value).slice(0, limit)`, built without writing the
 * rest (previews and legacy metadata keep a few hundred characters of values that may be large).
 *
 * @internal
 */
export const dumpsPrefix = (value: Json, limit: number): string => {
  let out = ""
  const add = (v: Json): boolean => {
    if (out.length >= limit) return false
    if (v === null || typeof v !== "object") {
      // a string's JSON is at least as long as the string: `limit` characters of it are enough
      out += typeof v === "string" && v.length > limit ? JSON.stringify(v.slice(0, limit)) : dumps(v)
      return out.length < limit
    }
    if (Array.isArray(v)) {
      out += "["
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ", "
        if (!add(v[i])) return false
      }
      out += "]"
      return out.length < limit
    }
    out += "{"
    let first = true
    for (const [key, item] of Object.entries(v as Record<string, Json>)) {
      out += (first ? "" : ", ") + JSON.stringify(key) + ": "
      first = false
      if (!add(item)) return false
    }
    out += "}"
    return out.length < limit
  }
  add(value)
  return out.length > limit ? out.slice(0, limit) : out
}

const pythonNumber = (n: number): string => {
  if (Number.isInteger(n) || !Number.isFinite(n)) return JSON.stringify(n)
  const s = String(n)
  return s.includes("e") ? s.replace(/e([+-])(\d)$/, "e$10$2") : s
}

/**
 * A value from user code as text: a string as it is (made well-formed), anything else the JSON of its
 * snapshot. Never throws.
 *
 * @internal
 */
export const toText = (value: unknown): string => {
  if (typeof value === "string") return value.isWellFormed() ? value : value.toWellFormed()
  const json = snapshot(value)
  return typeof json === "string" ? json : JSON.stringify(json)
}

/**
 * An optional value from user code as text (`toText`); `undefined` for `undefined` and `null`.
 *
 * @internal
 */
export const optionalText = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : toText(value)

/**
 * The entries of a record from user code, values as text (see `toText`) and keys through `safeKey`.
 * Never throws: a record that cannot be read (a revoked proxy, a throwing getter) loses only what
 * cannot be read.
 *
 * @internal
 */
export const textEntries = (record: unknown): Array<readonly [string, string]> => {
  if (record === undefined || record === null) return []
  const json = snapshot(record)
  if (typeof json !== "object" || json === null || Array.isArray(json)) return []
  return Object.entries(json).map((
    [key, value]
  ) => [safeKey(key), typeof value === "string" ? value : JSON.stringify(value)])
}

/**
 * The own enumerable entries of a record from user code, keys through `safeKey`, values as they are
 * (to be snapshotted by whoever keeps them). Never throws: a value whose getter throws becomes
 * `"[Unserializable: <message>]"`, a record that cannot be read at all gives no entries.
 *
 * @internal
 */
export const ownEntries = (record: unknown): Array<readonly [string, unknown]> => {
  if (typeof record !== "object" || record === null) return []
  let keys: Array<string>
  try {
    keys = Object.keys(record)
  } catch {
    return []
  }
  return keys.map((key) => {
    try {
      return [safeKey(key), (record as Record<string, unknown>)[key]] as const
    } catch (error) {
      return [safeKey(key), `[Unserializable: ${describeError(error)}]`] as const
    }
  })
}

/**
 * `JSON.stringify` that never throws: a value it cannot write (bigint, cycles, throwing getters) is
 * written as its snapshot.
 *
 * @internal
 */
export const safeStringify = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? "null"
  } catch {
    return JSON.stringify(snapshot(value))
  }
}

/** A parsed JSON value with bigints (from the bigint-safe parser) made plain numbers. */
export const plainJson = (value: unknown): Json => {
  if (typeof value === "bigint") return Number(value)
  if (Array.isArray(value)) return value.map(plainJson)
  if (typeof value === "object" && value !== null) {
    const out: Record<string, Json> = {}
    for (const key in value) setOwn(out, key, plainJson((value as Record<string, unknown>)[key]))
    return out
  }
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return null
  return value as Json
}

/**
 * Maps every value inside a JSON value, `f` first (a value it changes is not descended into); keys
 * are passed along. Structural sharing: an unchanged value comes back as the same object.
 *
 * @internal
 */
export const mapJson = (value: Json, f: (value: Json, key: string | undefined) => Json, key?: string): Json => {
  const mapped = f(value, key)
  if (mapped !== value) return mapped
  // structural sharing: an unchanged value comes back as the same object
  if (Array.isArray(value)) {
    let out: Array<Json> | undefined
    for (let i = 0; i < value.length; i++) {
      const item = mapJson(value[i], f, key)
      if (item !== value[i]) (out ??= value.slice())[i] = item
    }
    return out ?? value
  }
  if (typeof value === "object" && value !== null) {
    let out: Record<string, Json> | undefined
    for (const k in value) {
      const item = (value as Record<string, Json>)[k]
      const next = mapJson(item, f, k)
      if (next !== item) setOwn(out ??= { ...(value as Record<string, Json>) }, k, next)
    }
    return out ?? value
  }
  return value
}
