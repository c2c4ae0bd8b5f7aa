/**
 * MLflow's trace search filters: a typed builder that renders exactly MLflow's grammar (quoting
 * and back-ticks included), and a validator that checks a raw filter string before any request,
 * pointing at the offending token.
 *
 * @example
 * import { SearchFilter as F } from "effect-mlflow"
 *
 * const filter = F.render(F.and(F.status.eq("OK"), F.user.eq("alice"), F.timestamp.gt(Date.now() - 3_600_000)))
 * // "attributes.status = 'OK' AND metadata.`mlflow.trace.user` = 'alice' AND attributes.timestamp_ms > 1718..."
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category models
 */
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

/**
 * @since 0.1.0
 * @category models
 */
export type Entity = "attribute" | "tag" | "metadata" | "span" | "feedback" | "expectation" | "issue"

/**
 * One condition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Clause {
  readonly entity: Entity
  readonly key: string
  readonly comparator: Comparator
  readonly value: string | number | ReadonlyArray<string> | undefined
}

/**
 * Conditions that all must hold (MLflow has no OR).
 *
 * @since 0.1.0
 * @category models
 */
export interface Filter {
  readonly clauses: ReadonlyArray<Clause>
}

/**
 * A filter string MLflow would reject, or a value the builder cannot write.
 *
 * @since 0.1.0
 * @category errors
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

const NUMERIC = new Set(["timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms"])
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
 *
 * @since 0.1.0
 * @category utils
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

const ENTITY_PREFIX: Record<string, Entity> = {
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

const RENDERED_PREFIX: Record<Entity, string> = {
  attribute: "attributes",
  tag: "tags",
  metadata: "metadata",
  span: "span",
  feedback: "feedback",
  expectation: "expectation",
  issue: "issue"
}

// ---------------------------------------------------------------------------------------------
// rendering

const builderError = (detail: string, token: string) =>
  new SearchFilterError({ filter: "", position: 0, token, detail })

const renderKey = (key: string): string => {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return key
  if (key.includes("`")) throw builderError("a key cannot contain a back-tick", key)
  return `\`${key}\``
}

const renderString = (value: string): string => {
  if (!value.includes("'")) return `'${value}'`
  if (!value.includes("\"")) return `"${value}"`
  throw builderError("MLflow filters cannot hold a value with both ' and \"", value)
}

const renderClause = (clause: Clause): string => {
  const key = clause.entity === "span" && clause.key.startsWith("attributes.")
    ? `attributes.${renderKey(clause.key.slice("attributes.".length))}`
    : renderKey(clause.key)
  const identifier = `${RENDERED_PREFIX[clause.entity]}.${key}`
  const value = clause.value
  if (clause.comparator === "IS NULL" || clause.comparator === "IS NOT NULL") {
    return `${identifier} ${clause.comparator}`
  }
  if (Array.isArray(value)) return `${identifier} ${clause.comparator} (${value.map(renderString).join(", ")})`
  return `${identifier} ${clause.comparator} ${
    typeof value === "number" ? String(value) : renderString(value as string)
  }`
}

/**
 * Writes a filter in MLflow's grammar. Fails (as a defect-free typed error) only for values MLflow
 * cannot express: a value with both quote kinds, a key with a back-tick.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderEither = (filter: Filter): Effect.Effect<string, SearchFilterError> =>
  Effect.try({
    try: () => filter.clauses.map(renderClause).join(" AND "),
    catch: (error) => error as SearchFilterError
  })

/**
 * Writes a filter in MLflow's grammar; throws `SearchFilterError` for values MLflow cannot express
 * (use `renderEither` to get it typed).
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (filter: Filter): string => filter.clauses.map(renderClause).join(" AND ")

/**
 * All conditions together.
 *
 * @since 0.1.0
 * @category constructors
 */
export const and = (...parts: ReadonlyArray<Clause | Filter>): Filter => ({
  clauses: parts.flatMap((part) => "clauses" in part ? part.clauses : [part])
})

const clause = (entity: Entity, key: string, comparator: Comparator, value: Clause["value"]): Clause => ({
  entity,
  key,
  comparator,
  value
})

const numeric = (key: string) => {
  const at = (comparator: Comparator) => (value: number | Date) =>
    clause("attribute", key, comparator, value instanceof Date ? value.getTime() : value)
  return { eq: at("="), ne: at("!="), gt: at(">"), gte: at(">="), lt: at("<"), lte: at("<=") }
}

const text = (entity: Entity, key: string) => ({
  eq: (value: string) => clause(entity, key, "=", value),
  ne: (value: string) => clause(entity, key, "!=", value),
  like: (pattern: string) => clause(entity, key, "LIKE", pattern),
  ilike: (pattern: string) => clause(entity, key, "ILIKE", pattern),
  rlike: (pattern: string) => clause(entity, key, "RLIKE", pattern)
})

const oneOf = (entity: Entity, key: string) => ({
  in: (values: ReadonlyArray<string>) => clause(entity, key, "IN", values),
  notIn: (values: ReadonlyArray<string>) => clause(entity, key, "NOT IN", values)
})

const nullable = (entity: Entity, key: string) => ({
  isNull: () => clause(entity, key, "IS NULL", undefined),
  isNotNull: () => clause(entity, key, "IS NOT NULL", undefined)
})

/** @since 0.1.0 @category builders */
export const status = {
  eq: (value: "OK" | "ERROR" | "IN_PROGRESS") => clause("attribute", "status", "=", value),
  ne: (value: "OK" | "ERROR" | "IN_PROGRESS") => clause("attribute", "status", "!=", value),
  ...oneOf("attribute", "status")
}
/** Trace start time, in milliseconds since the epoch. @since 0.1.0 @category builders */
export const timestamp = numeric("timestamp_ms")
/** Trace end time, in milliseconds since the epoch. @since 0.1.0 @category builders */
export const endTime = numeric("end_time_ms")
/** Trace duration in milliseconds. @since 0.1.0 @category builders */
export const executionTime = numeric("execution_time_ms")
/** The trace name (root span name). @since 0.1.0 @category builders */
export const name = text("attribute", "name")
/** @since 0.1.0 @category builders */
export const clientRequestId = { ...text("attribute", "client_request_id"), ...oneOf("attribute", "client_request_id") }
/** @since 0.1.0 @category builders */
export const requestId = { ...text("attribute", "request_id"), ...oneOf("attribute", "request_id") }
/** @since 0.1.0 @category builders */
export const tag = (key: string) => ({ ...text("tag", key), ...nullable("tag", key) })
/** @since 0.1.0 @category builders */
export const metadata = (key: string) => ({ ...text("metadata", key), ...nullable("metadata", key) })
/** The trace user (`mlflow.trace.user`). @since 0.1.0 @category builders */
export const user = metadata("mlflow.trace.user")
/** The trace session (`mlflow.trace.session`). @since 0.1.0 @category builders */
export const session = metadata("mlflow.trace.session")
/** Span fields: a trace matches when one of its spans does. @since 0.1.0 @category builders */
export const span = {
  name: { ...text("span", "name"), ...oneOf("span", "name") },
  type: { ...text("span", "type"), ...oneOf("span", "type") },
  status: { ...text("span", "status"), ...oneOf("span", "status") },
  attribute: (key: string) => ({ ...text("span", `attributes.${key}`), ...oneOf("span", `attributes.${key}`) })
}
/** An assessment (feedback) value by name. @since 0.1.0 @category builders */
export const feedback = (assessmentName: string) => ({
  ...text("feedback", assessmentName),
  ...nullable("feedback", assessmentName)
})

// ---------------------------------------------------------------------------------------------
// validation

interface Token {
  readonly kind: "identifier" | "string" | "number" | "operator" | "word" | "lparen" | "rparen" | "comma"
  readonly text: string
  readonly value: string
  readonly position: number
}

const tokenize = (filter: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  const fail = (position: number, token: string, detail: string): never => {
    throw new SearchFilterError({ filter, position, token, detail })
  }
  while (i < filter.length) {
    const c = filter[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    if (c === "'" || c === "\"") {
      const end = filter.indexOf(c, i + 1)
      if (end === -1) {
        fail(start, filter.slice(start, start + 20), `unterminated ${c === "'" ? "single" : "double"} quote`)
      }
      tokens.push({
        kind: "string",
        text: filter.slice(start, end + 1),
        value: filter.slice(start + 1, end),
        position: start
      })
      i = end + 1
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: c === "(" ? "lparen" : c === ")" ? "rparen" : "comma", text: c, value: c, position: start })
      i++
    } else if (/[=!<>]/.test(c)) {
      const two = filter.slice(i, i + 2)
      const op = ["!=", ">=", "<=", "<>"].includes(two) ? two : c
      if (op === "!" || op === "<>") fail(start, op, "unknown operator; use = != > >= < <=")
      tokens.push({ kind: "operator", text: op, value: op, position: start })
      i += op.length
    } else if (/[-0-9]/.test(c) && /^-?\d/.test(filter.slice(i, i + 2))) {
      const match = /^-?\d+(\.\d+)?/.exec(filter.slice(i))!
      tokens.push({ kind: "number", text: match[0], value: match[0], position: start })
      i += match[0].length
    } else if (/[A-Za-z_`]/.test(c)) {
      // identifiers: dotted segments, each bare or back-quoted
      let value = ""
      for (;;) {
        if (filter[i] === "`") {
          const end = filter.indexOf("`", i + 1)
          if (end === -1) fail(i, filter.slice(i, i + 20), "unterminated back-tick")
          value += filter.slice(i + 1, end)
          i = end + 1
        } else {
          const match = /^[A-Za-z0-9_]+/.exec(filter.slice(i))
          if (match === null) fail(i, filter.slice(i, i + 10), "expected a name")
          value += match![0]
          i += match![0].length
        }
        if (filter[i] === "." && /[A-Za-z0-9_`]/.test(filter[i + 1] ?? "")) {
          value += "."
          i++
        } else break
      }
      const textValue = filter.slice(start, i)
      const isWord = !textValue.includes(".") && !textValue.includes("`") &&
        ["AND", "OR", "IN", "NOT", "LIKE", "ILIKE", "RLIKE", "IS", "NULL"].includes(textValue.toUpperCase())
      tokens.push({
        kind: isWord ? "word" : "identifier",
        text: textValue,
        value: isWord ? textValue.toUpperCase() : value,
        position: start
      })
    } else {
      fail(start, c, "unexpected character")
    }
  }
  return tokens
}

const splitIdentifier = (value: string): { entity: Entity; key: string } | string => {
  const dot = value.indexOf(".")
  if (dot === -1) return { entity: "attribute", key: value }
  const prefix = value.slice(0, dot)
  const entity = ENTITY_PREFIX[prefix]
  if (entity === undefined) {
    return `unknown entity "${prefix}"; use attributes, tags, metadata, span, feedback, expectation or issue`
  }
  return { entity, key: value.slice(dot + 1) }
}

/**
 * Parses and checks a filter string against MLflow's grammar and key rules, before any request.
 *
 * @since 0.1.0
 * @category validation
 */
export const parse = (filter: string): Effect.Effect<Filter, SearchFilterError> =>
  Effect.try({
    try: () => parseUnsafe(filter),
    catch: (error) =>
      error instanceof SearchFilterError
        ? error
        : new SearchFilterError({ filter, position: 0, token: "", detail: String(error) })
  })

const parseUnsafe = (filter: string): Filter => {
  const tokens = tokenize(filter)
  const clauses: Array<Clause> = []
  let i = 0
  const fail = (token: Token | undefined, detail: string): never => {
    throw new SearchFilterError({
      filter,
      position: token?.position ?? filter.length,
      token: token?.text ?? "<end>",
      detail
    })
  }
  if (tokens.length === 0) return { clauses }
  for (;;) {
    const identifier = tokens[i++]
    if (identifier === undefined) fail(identifier, "expected a condition after AND")
    if (identifier.kind === "word" && identifier.value === "OR") {
      fail(identifier, "MLflow filters combine conditions with AND only (no OR)")
    }
    if (identifier.kind !== "identifier") fail(identifier, "expected a key such as attributes.status or tags.env")
    const split = splitIdentifier(identifier.value)
    if (typeof split === "string") fail(identifier, split)
    const { entity, key } = split as { entity: Entity; key: string }
    const allowed = comparatorsFor(entity, key)
    if (typeof allowed === "string") fail(identifier, allowed)

    // comparator
    const first = tokens[i++]
    let comparator: Comparator | undefined
    if (first?.kind === "operator") comparator = first.value as Comparator
    else if (first?.kind === "word") {
      const second = tokens[i]
      if (first.value === "NOT" && second?.value === "IN") {
        comparator = "NOT IN"
        i++
      } else if (first.value === "IS") {
        if (second?.value === "NULL") {
          comparator = "IS NULL"
          i++
        } else if (second?.value === "NOT" && tokens[i + 1]?.value === "NULL") {
          comparator = "IS NOT NULL"
          i += 2
        }
      } else if (["LIKE", "ILIKE", "RLIKE", "IN"].includes(first.value)) comparator = first.value as Comparator
    }
    if (comparator === undefined) {
      fail(first, "expected a comparator (= != > >= < <= LIKE ILIKE RLIKE IN NOT IN IS NULL)")
    }
    if (!(allowed as ReadonlyArray<Comparator>).includes(comparator!)) {
      fail(first, `${comparator} is not allowed for ${identifier.text}; use ${(allowed as Array<string>).join(", ")}`)
    }

    // value
    let value: Clause["value"] = undefined
    if (comparator === "IN" || comparator === "NOT IN") {
      const open = tokens[i++]
      if (open?.kind !== "lparen") fail(open, `${comparator} needs a list such as ('a', 'b')`)
      const items: Array<string> = []
      for (;;) {
        const item = tokens[i++]
        if (item?.kind !== "string") fail(item, "expected a quoted string in the list")
        items.push(item!.value)
        const next = tokens[i++]
        if (next?.kind === "rparen") break
        if (next?.kind !== "comma") fail(next, "expected , or ) in the list")
      }
      value = items
    } else if (comparator !== "IS NULL" && comparator !== "IS NOT NULL") {
      const token = tokens[i++]
      const numericKey = entity === "attribute" && NUMERIC.has(key)
      if (numericKey) {
        if (token?.kind !== "number") fail(token, `${identifier.text} compares with a number of milliseconds`)
        value = Number(token!.value)
      } else {
        if (token?.kind !== "string") {
          fail(
            token,
            token?.kind === "number" ? "quote the value: only time attributes take numbers" : "expected a quoted value"
          )
        }
        value = token!.value
      }
    }
    clauses.push({ entity, key, comparator: comparator!, value })

    const next = tokens[i++]
    if (next === undefined) return { clauses }
    if (next.kind === "word" && next.value === "AND") continue
    fail(next, next.value === "OR" ? "MLflow filters combine conditions with AND only (no OR)" : "expected AND")
  }
}
