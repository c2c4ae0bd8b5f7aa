/**
 * JSON values as the pipeline keeps them, and the helpers that build and map them safely (keys here
 * come from user data).
 *
 * @internal
 */

/** @internal */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

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
