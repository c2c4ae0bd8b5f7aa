import type { Json } from "../common/json.js"

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
