import type { Json } from "../common/json.js"
import { dumps } from "./pythonJson.js"

/** arrays of one primitive type (nulls allowed), as OpenTelemetry attributes take them */
const isPlainArray = (items: ReadonlyArray<Json>): boolean => {
  let type: string | undefined
  for (const item of items) {
    if (item === null) continue
    if (typeof item === "object" || (type !== undefined && typeof item !== type)) return false
    type = typeof item
  }
  return true
}

/**
 * Attributes as OpenTelemetry defines them, primitives or arrays of one primitive type (what most
 * backends index and show): maps and other arrays go as their JSON text, as MLflow's Python SDK sends
 * every value, and MLflow reads them back either way. Answers `attributes` itself when nothing changes.
 */
export const plainAttributes = (attributes: Readonly<Record<string, Json>>): Readonly<Record<string, Json>> => {
  let out: Record<string, Json> | undefined
  for (const key in attributes) {
    const value = attributes[key]
    if (value === null || typeof value !== "object" || (Array.isArray(value) && isPlainArray(value))) continue
    out ??= { ...attributes }
    out[key] = dumps(value)
  }
  return out ?? attributes
}
