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
import * as Grammar from "./internal/client/filterGrammar.js"
import { greedyClosingQuote, parseUnsafe } from "./internal/client/filterParser.js"

/**
 * A comparison MLflow's filter grammar knows (which ones an entity and key take is checked when a
 * filter is parsed or rendered).
 *
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
 * What a condition is about: a trace attribute, a tag, a metadata entry, a span, an assessment
 * (feedback or expectation), or an issue.
 *
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
export const SearchFilterError: typeof Grammar.SearchFilterError = Grammar.SearchFilterError

/**
 * @since 0.1.0
 * @category errors
 */
export type SearchFilterError = Grammar.SearchFilterError

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

/**
 * A key as MLflow reads it back: it takes quotes, then back-ticks, off a key. Back-quoted when its
 * back-ticks come in pairs (the tokenizer keeps a doubled one inside), else quoted.
 */
const renderKey = (key: string): string => {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return key
  const wrapped = key.length >= 2 && key.startsWith("`") && key.endsWith("`")
  if (!wrapped && /^(?:[^`]|``)*$/.test(key)) return `\`${key}\``
  if (!wrapped && readsBack(key, "\"")) return `"${key}"`
  if (!wrapped && readsBack(key, "'")) return `'${key}'`
  throw builderError("MLflow cannot read this key back (back-ticks around it, or quotes and back-ticks in it)", key)
}

/** A span attribute's name: MLflow's store takes back-ticks off it, and nothing else. */
const renderSpanAttribute = (name: string): string => {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return name
  if (/^(?:[^`]|``)*$/.test(name)) return `\`${name}\``
  throw builderError("MLflow cannot read this span attribute name back (a lone back-tick in it)", name)
}

/** A number in the tokenizer's syntax (no `+` in exponents), finite. */
const renderNumber = (value: number): string => {
  if (!Number.isFinite(value)) throw builderError("a number in a filter must be finite", String(value))
  return String(value).replace("e+", "e")
}

/**
 * Whether MLflow's parser reads `quote + value + quote` back as exactly `value`, wherever the clause
 * stands: its tokenizer (`'(''|\\'|[^'])*'`, the same with `"`, nothing unescaped afterwards) must end
 * the string, read greedily, at the closing quote. A lone quote inside ends it early; a trailing
 * backslash pairs with the closing quote and lets it run on into what follows.
 */
const readsBack = (value: string, quote: string): boolean =>
  greedyClosingQuote(quote + value + quote, 0) === value.length + 1

/**
 * A list item as a Python string literal: MLflow reads a list with `ast.literal_eval`. Quotes,
 * backslashes, control characters and lone surrogates are written as `\x`/`\u` escapes, so no quote
 * or backslash-quote pair is left for the filter tokenizer to trip on.
 */
const pythonLiteral = (value: string): string => {
  let out = "'"
  for (const ch of value) {
    const code = ch.codePointAt(0)!
    if (
      ch === "'" || ch === "\"" || ch === "\\" || code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)
    ) {
      out += code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
    } else out += ch
  }
  return out + "'"
}

const renderString = (value: string): string => {
  if (readsBack(value, "'")) return `'${value}'`
  if (readsBack(value, "\"")) return `"${value}"`
  throw builderError(
    "MLflow's filter grammar cannot quote this value (lone quotes of both kinds, or a trailing backslash)",
    value
  )
}

const renderClause = (clause: Clause): string => {
  const key = clause.entity === "span" && clause.key.startsWith("attributes.")
    ? `attributes.${renderSpanAttribute(clause.key.slice("attributes.".length))}`
    : renderKey(clause.key)
  const identifier = `${RENDERED_PREFIX[clause.entity]}.${key}`
  const value = clause.value
  if (clause.comparator === "IS NULL" || clause.comparator === "IS NOT NULL") {
    return `${identifier} ${clause.comparator}`
  }
  if (Array.isArray(value)) return `${identifier} ${clause.comparator} (${value.map(pythonLiteral).join(", ")})`
  return `${identifier} ${clause.comparator} ${
    typeof value === "number" ? renderNumber(value) : renderString(value as string)
  }`
}

/**
 * Writes a filter in MLflow's grammar; MLflow's parser reads every value back exactly as given.
 * Fails (as a defect-free typed error) only for what MLflow cannot express: a value that neither
 * quote kind can hold (lone quotes of both kinds, or a trailing backslash), a key with a back-tick.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderEither = (filter: Filter): Effect.Effect<string, SearchFilterError> =>
  Effect.try({
    try: () => {
      const rendered = filter.clauses.map(renderClause).join(" AND ")
      // what MLflow's parser or store would refuse (an empty assessment name, a prompt without a
      // version) fails here, typed, rather than at the server
      parseUnsafe(rendered)
      return rendered
    },
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
  /** MLflow searches span attributes with `=`, `!=` and the patterns (not with `IN`). */
  attribute: (key: string) => text("span", `attributes.${key}`)
}

const assessment = (entity: "feedback" | "expectation", name: string) => {
  const at = (comparator: Comparator) => (value: number) => clause(entity, name, comparator, value)
  return {
    ...text(entity, name),
    ...nullable(entity, name),
    gt: at(">"),
    gte: at(">="),
    lt: at("<"),
    lte: at("<=")
  }
}
/** A feedback assessment by name: its value as text, or compared as a number. @since 0.1.0 @category builders */
export const feedback = (assessmentName: string) => assessment("feedback", assessmentName)

/**
 * An expectation (ground truth) by name: its value as text, or compared as a number.
 *
 * @since 0.1.0
 * @category builders
 */
export const expectation = (assessmentName: string) => assessment("expectation", assessmentName)

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
