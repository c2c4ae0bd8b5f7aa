import * as Schema from "effect/Schema"

/** The vocabulary of MLflow's trace filter grammar: entities, comparators, and which keys take which. */

export type Comparator =
  | "="
  | "!="
  | ">"
  | ">="
  | "<"
  | "<="
  | "LIKE"
  | "ILIKE"
  | "RLIKE"
  | "IN"
  | "NOT IN"
  | "IS NULL"
  | "IS NOT NULL"

export type Entity = "attribute" | "tag" | "metadata" | "span" | "feedback" | "expectation" | "issue"

/**
 * One condition.
 */
export interface Clause {
  readonly entity: Entity
  readonly key: string
  readonly comparator: Comparator
  readonly value: string | number | ReadonlyArray<string> | undefined
}

/**
 * Conditions that all must hold (MLflow has no OR).
 */
export interface Filter {
  readonly clauses: ReadonlyArray<Clause>
}

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

export const NUMERIC = new Set([
  "timestamp",
  "timestamp_ms",
  "execution_time",
  "execution_time_ms",
  "end_time",
  "end_time_ms"
])
// `name` and `run_id` are aliases of a tag and a metadata key, so they compare like them (no IN)
const IN_ATTRIBUTES = new Set(["status", "request_id", "client_request_id"])
const ALIASES = new Set(["name", "run_id"])
const STRING_ATTRIBUTES = new Set(["request_id", "client_request_id", "status", "name", "run_id", "prompt", "text"])
const EQUALITY: ReadonlyArray<Comparator> = ["=", "!="]
const ORDER: ReadonlyArray<Comparator> = ["=", "!=", ">", ">=", "<", "<="]
const PATTERN: ReadonlyArray<Comparator> = ["LIKE", "ILIKE", "RLIKE"]
const SET: ReadonlyArray<Comparator> = ["IN", "NOT IN"]
const NULLS: ReadonlyArray<Comparator> = ["IS NULL", "IS NOT NULL"]

/**
 * The comparators MLflow accepts for a key, or a reason it does not know the key.
 */
export const comparatorsFor = (entity: Entity, key: string): ReadonlyArray<Comparator> | string => {
  switch (entity) {
    case "attribute":
      if (NUMERIC.has(key)) return ORDER
      if (key === "prompt") return ["="]
      if (key === "text") return ["LIKE", "ILIKE"]
      if (ALIASES.has(key)) return [...EQUALITY, ...PATTERN, ...NULLS]
      if (STRING_ATTRIBUTES.has(key)) return [...EQUALITY, ...PATTERN, ...(IN_ATTRIBUTES.has(key) ? SET : [])]
      return `unknown trace attribute "${key}"; known: ${[...NUMERIC, ...STRING_ATTRIBUTES].join(", ")}`
    case "tag":
    case "metadata":
    case "feedback":
    case "expectation":
      return [...EQUALITY, ...PATTERN, ...NULLS]
    case "span":
      if (key === "content") return ["LIKE", "ILIKE"]
      if (key === "name" || key === "type" || key === "status" || key.startsWith("attributes.")) {
        return [...EQUALITY, ...SET, ...PATTERN]
      }
      return `unknown span field "${key}"; known: name, type, status, content, attributes.<key>`
    case "issue":
      return key === "id" ? ["="] : `unknown issue field "${key}"; known: id`
  }
}

export const ENTITY_PREFIX: Record<string, Entity> = {
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
