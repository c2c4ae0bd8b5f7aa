import * as Schema from "effect/Schema"
import type { Entity } from "../../SearchFilter.js"

// the contracts are the public module's
export type { Clause, Comparator, Entity, Filter } from "../../SearchFilter.js"

/**
 * The vocabulary of MLflow 3.18's trace filter grammar (`SearchTraceUtils`) and the checks its
 * parser and its SQL store make on each condition, in their order.
 */

/**
 * A filter string MLflow would reject, or a value the builder cannot write.
 */
export class SearchFilterError extends Schema.TaggedError<SearchFilterError>()("SearchFilterError", {
  filter: Schema.String,
  position: Schema.Number,
  token: Schema.String,
  detail: Schema.String
}) {
  get message(): string {
    return `Invalid filter at position ${this.position} (${JSON.stringify(this.token)}): ${this.detail}\n` +
      `  ${this.filter}\n  ${" ".repeat(this.position)}^`
  }
}

const TIME_KEYS = ["timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms"]
const NUMERIC = new Set(TIME_KEYS)
/** the attribute keys MLflow's parser knows, exactly as spelled (it compares case-sensitively) */
export const ATTRIBUTE_KEYS: ReadonlySet<string> = new Set([
  "request_id",
  ...TIME_KEYS,
  "status",
  "client_request_id",
  "name",
  "run_id",
  "prompt",
  "text"
])
/** attribute keys that take a list (before their mapping to tags and metadata) */
const LIST_ATTRIBUTES = new Set(["name", "status", "request_id", "run_id", "client_request_id"])

export const ENTITY_PREFIX: Readonly<Record<string, Entity>> = {
  attribute: "attribute",
  attributes: "attribute",
  trace: "attribute",
  tag: "tag",
  tags: "tag",
  metadata: "metadata",
  request_metadata: "metadata",
  span: "span",
  feedback: "feedback",
  expectation: "expectation",
  issue: "issue"
}

const ORDER = new Set<string>(["=", "!=", ">", ">=", "<", "<="])
const STRING_ATTRIBUTE = new Set<string>(["=", "!=", "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN"])
const TAG_OR_METADATA = new Set<string>(["=", "!=", "LIKE", "ILIKE", "RLIKE", "IS NULL", "IS NOT NULL"])
const SPAN_FIELD = new Set<string>(["=", "!=", "LIKE", "ILIKE", "RLIKE", "IN", "NOT IN"])
const SPAN_CONTENT = new Set<string>(["LIKE", "ILIKE"])
const NUMERIC_ASSESSMENT = new Set<string>([">", ">=", "<", "<="])
const ASSESSMENT = new Set<string>([...TAG_OR_METADATA, ...NUMERIC_ASSESSMENT])
const SPAN_FIELDS = new Set(["name", "type", "status"])

/** every comparator MLflow's trace filters know, in upper case */
export const COMPARATORS: ReadonlySet<string> = new Set([...ORDER, ...STRING_ATTRIBUTE, ...TAG_OR_METADATA])
const INT64_MAX = 2n ** 63n - 1n

const listOf = (set: ReadonlySet<string>) => [...set].join(", ")

/** A value as written: a quoted string, a number, a parenthesised list. */
export type Written =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number; readonly integer: boolean; readonly text: string }
  | { readonly kind: "list"; readonly value: ReadonlyArray<string> }
  | { readonly kind: "none" }

/** Where a check failed: at the key, the comparator or the value. */
export interface Refusal {
  readonly at: "key" | "comparator" | "value"
  readonly detail: string
}

/**
 * What MLflow's store searches for a condition: the key aliases it maps under any entity but spans
 * (`name` and `prompt` to tags, `run_id` to metadata, `text` to span content, time keys to their
 * `_ms` form).
 */
export const mapped = (entity: Entity, key: string): { readonly entity: Entity; readonly key: string } => {
  if (entity === "span") return { entity, key }
  switch (key.toLowerCase()) {
    case "name":
      return { entity: "tag", key: "mlflow.traceName" }
    case "prompt":
      return { entity: "tag", key: "mlflow.linkedPrompts" }
    case "run_id":
      return { entity: "metadata", key: "mlflow.sourceRun" }
    case "text":
      return { entity: "span", key: "content" }
  }
  return { entity, key: ["timestamp", "execution_time", "end_time"].includes(key) ? `${key}_ms` : key }
}

/**
 * The checks of MLflow's parser on the value (by the entity and key as written), then those of its
 * store on the mapped condition; `comparator` as written (MLflow's span check reads it so), and
 * a refusal for what MLflow refuses or fails on (500) or leaves meaningless (see the notes).
 */
export const check = (
  entity: Entity,
  key: string,
  comparator: string,
  value: Written,
  label: string = `${entity}.${key}`
): Refusal | undefined => {
  const upper = comparator.toUpperCase()
  const isNull = upper === "IS NULL" || upper === "IS NOT NULL"
  if (!isNull) {
    const refused = valueRefusal(entity, key, comparator, value)
    if (refused !== undefined) return refused
  }
  if (entity === "span") {
    const refused = spanRefusal(key, comparator)
    if (refused !== undefined) return refused
  }
  return storeRefusal(mapped(entity, key), upper, value, label)
}

const valueRefusal = (entity: Entity, key: string, comparator: string, value: Written): Refusal | undefined => {
  const expected = (what: string): Refusal => ({ at: "value", detail: `expected ${what}` })
  if (entity === "feedback" || entity === "expectation") {
    const numeric = NUMERIC_ASSESSMENT.has(comparator)
    if (numeric && value.kind !== "number") return expected(`a number to compare ${entity} with ${comparator}`)
    if (!numeric && value.kind !== "string") return expected(`a quoted string for ${entity} with ${comparator}`)
    return value.kind === "number" && value.integer && !fitsInt64(value.text)
      ? { at: "value", detail: "a number past what the database's 64-bit integer holds" }
      : undefined
  }
  if (value.kind === "string") return undefined
  if (value.kind === "list") {
    if (entity === "tag" || entity === "span" || (entity === "attribute" && LIST_ATTRIBUTES.has(key))) return undefined
    return expected(
      entity === "attribute"
        ? `a quoted string: only ${listOf(LIST_ATTRIBUTES)} take a list`
        : `a quoted string: ${entity} takes no list`
    )
  }
  if (value.kind === "number" && entity === "attribute") {
    return NUMERIC.has(key) ? undefined : expected("a quoted value: only time attributes take numbers")
  }
  return expected(value.kind === "number" ? "a quoted value: only time attributes take numbers" : "a quoted value")
}

const spanRefusal = (key: string, comparator: string): Refusal | undefined => {
  if (key.startsWith("attributes.")) {
    if (key === "attributes.") return { at: "key", detail: "a span attribute needs a name after attributes." }
    return SPAN_FIELD.has(comparator) ? undefined : comparatorRefusal(comparator, `span.${key}`, SPAN_FIELD)
  }
  if (SPAN_FIELDS.has(key)) {
    return SPAN_FIELD.has(comparator) ? undefined : comparatorRefusal(comparator, `span.${key}`, SPAN_FIELD)
  }
  if (key === "content") {
    return SPAN_CONTENT.has(comparator) ? undefined : comparatorRefusal(comparator, "span.content", SPAN_CONTENT)
  }
  return { at: "key", detail: `unknown span field "${key}"; known: name, type, status, content, attributes.<key>` }
}

const comparatorRefusal = (comparator: string, what: string, allowed: ReadonlySet<string>): Refusal => ({
  at: "comparator",
  detail: `${comparator} is not allowed for ${what}; use ${listOf(allowed)}` +
    (allowed.has(comparator.toUpperCase()) ? " (MLflow reads span comparators in capitals only)" : "")
})

const storeRefusal = (
  { entity, key }: { readonly entity: Entity; readonly key: string },
  comparator: string,
  value: Written,
  label: string
): Refusal | undefined => {
  const isList = value.kind === "list"
  if (isList !== (comparator === "IN" || comparator === "NOT IN")) {
    // MLflow's parser lets `= (...)` through, and its store compares a column with a row of values
    return { at: isList ? "value" : "comparator", detail: "a list goes with IN or NOT IN, and IN with a list" }
  }
  switch (entity) {
    case "issue":
      if (key !== "id") return { at: "key", detail: `unknown issue field "${key}"; known: id` }
      return comparator === "=" ? undefined : comparatorRefusal(comparator, label, new Set(["="]))
    case "attribute":
      if (NUMERIC.has(key)) {
        if (!ORDER.has(comparator)) return comparatorRefusal(comparator, label, ORDER)
        return numericRefusal(value)
      }
      return STRING_ATTRIBUTE.has(comparator) ? undefined : comparatorRefusal(comparator, label, STRING_ATTRIBUTE)
    case "tag":
      if (!TAG_OR_METADATA.has(comparator)) return comparatorRefusal(comparator, label, TAG_OR_METADATA)
      if (key === "mlflow.linkedPrompts") {
        if (comparator !== "=") return comparatorRefusal(comparator, label, new Set(["="]))
        if (value.kind === "string" && value.value.split("/").length !== 2) {
          return { at: "value", detail: "a prompt is searched as 'name/version'" }
        }
      }
      return undefined
    case "metadata":
      return TAG_OR_METADATA.has(comparator)
        ? undefined
        : comparatorRefusal(comparator, label, TAG_OR_METADATA)
    case "span":
      if (key.startsWith("attributes.") && isList) {
        return { at: "comparator", detail: "MLflow cannot search span attributes with IN or NOT IN" }
      }
      return spanRefusal(key, comparator)
    case "feedback":
    case "expectation":
      if (key === "") return { at: "key", detail: `an ${entity} name cannot be empty` }
      return ASSESSMENT.has(comparator) ? undefined : comparatorRefusal(comparator, label, ASSESSMENT)
  }
}

/**
 * Times compare as numbers in MLflow's store: a quoted value is sent as text, which PostgreSQL
 * reads as a 64-bit integer or refuses, and SQLite compares as text when it is not a number; an
 * integer past 64 bits overflows SQLite's integer (a 500).
 */
const numericRefusal = (value: Written): Refusal | undefined => {
  if (value.kind === "string") {
    return /^[+-]?\d+$/.test(value.value) && fitsInt64(value.value)
      ? undefined
      : { at: "value", detail: "a time compares with a whole number of milliseconds" }
  }
  return value.kind === "number" && value.integer && !fitsInt64(value.text)
    ? { at: "value", detail: "a number past what the database's 64-bit integer holds" }
    : undefined
}

const fitsInt64 = (digits: string): boolean => {
  const big = BigInt(digits)
  return big <= INT64_MAX && big >= -INT64_MAX - 1n
}
