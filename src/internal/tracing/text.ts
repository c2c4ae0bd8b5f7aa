import { safeKey } from "../common/json.js"
import { describeError, snapshot } from "./snapshot.js"

/**
 * Values and records from user code as text (trace tags, metadata, assessment fields, request
 * bodies), read through the never-throwing snapshot.
 *
 * @internal
 */

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
