import { utf8Length } from "../common/bytes.js"
import type { Json } from "../common/json.js"

/** What `JSON.stringify(value)` would be, measured without building it. */
export interface JsonSize {
  /** its UTF-8 length */
  readonly bytes: number
  /** how many `"` and `\` it holds (what embedding it in another JSON string escapes) */
  readonly escapes: number
}

/** Characters `JSON.stringify` writes as they are, in one UTF-8 byte: printable ASCII but `"` and `\`. */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/

const countEscapes = (json: string): number => {
  let n = 0
  for (let i = json.indexOf("\"");; i = json.indexOf("\"", i + 1)) {
    if (i < 0) break
    n++
  }
  for (let i = json.indexOf("\\");; i = json.indexOf("\\", i + 1)) {
    if (i < 0) break
    n++
  }
  return n
}

// running totals of the measure in progress: module state, so that measuring allocates nothing
// for plain values (it runs for every attribute of every exported span, and never re-enters)
let bytes = 0
let escapes = 0

const addText = (s: string): void => {
  if (!NOT_PLAIN.test(s)) {
    bytes += s.length + 2
    escapes += 2
    return
  }
  const json = JSON.stringify(s)
  bytes += utf8Length(json)
  escapes += countEscapes(json)
}

/** Adds the JSON of `v`; answers `false` for what `JSON.stringify` leaves out (undefined, outside arrays). */
const addValue = (v: Json | undefined, inArray: boolean): boolean => {
  if (v === null) bytes += 4
  else if (typeof v === "string") addText(v)
  else if (typeof v === "number") bytes += Number.isFinite(v) ? String(v).length : 4
  else if (typeof v === "boolean") bytes += v ? 4 : 5
  else if (Array.isArray(v)) {
    bytes += 2
    for (let i = 0; i < v.length; i++) {
      if (i > 0) bytes += 1
      addValue(v[i], true)
    }
  } else if (typeof v === "object") {
    bytes += 2
    let first = true
    for (const key in v) {
      const item = (v as Record<string, Json | undefined>)[key]
      if (item === undefined) continue
      if (!first) bytes += 1
      first = false
      addText(key)
      bytes += 1
      addValue(item, false)
    }
  } else if (inArray) bytes += 4 // undefined in an array is written as null
  else return false
  return true
}

/**
 * The size of the JSON text of a value, and its quotes and backslashes, as `JSON.stringify` writes
 * it. Plain strings (the common case: ASCII text) are measured from their length; only strings with
 * other characters are encoded, alone, to be measured exactly. The payload budgets and the size
 * statistics measure every attribute of every span, so this runs on the export path of each trace.
 */
export const jsonSize = (value: Json): JsonSize => {
  bytes = 0
  escapes = 0
  return addValue(value, false) ? { bytes, escapes } : { bytes: 0, escapes: 0 }
}

/**
 * `jsonSize` without a result object: the size and escapes of `value` are left in `measured`, read
 * before the next measure (for loops over many values).
 */
export const measureJson = (value: Json): void => {
  bytes = 0
  escapes = 0
  if (addValue(value, false)) {
    measured.bytes = bytes
    measured.escapes = escapes
  } else {
    measured.bytes = 0
    measured.escapes = 0
  }
}

/** What the last `measureJson` found. */
export const measured: { bytes: number; escapes: number } = { bytes: 0, escapes: 0 }

/** UTF-8 bytes `JSON.stringify` may write for one UTF-16 code unit, at most (`\\uXXXX`). */
const MAX_BYTES_PER_UNIT = 6

/**
 * At least the UTF-8 size of `JSON.stringify(value)`, from string lengths alone: no character is
 * read, so it costs a walk over the structure (and never flattens a string built by concatenation).
 * Budget checks use it to skip the exact measure when even the bound fits.
 */
export const jsonSizeBound = (value: Json | undefined): number => {
  if (value === null || value === undefined) return 4
  if (typeof value === "string") return value.length * MAX_BYTES_PER_UNIT + 2
  if (typeof value === "number") return Number.isFinite(value) ? String(value).length : 4
  if (typeof value === "boolean") return 5
  let bound = 2
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) bound += jsonSizeBound(value[i]) + 1
    return bound
  }
  for (const key in value) {
    bound += key.length * MAX_BYTES_PER_UNIT + 4 + jsonSizeBound((value as Record<string, Json | undefined>)[key])
  }
  return bound
}

/** The UTF-8 size of `JSON.stringify(text)`. */
export const textSize = (text: string): number => {
  bytes = 0
  addText(text)
  return bytes
}
