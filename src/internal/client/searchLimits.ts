import * as Schema from "effect/Schema"
import { type Clause, type Filter, mapped, SearchFilterError } from "./filterGrammar.js"

/**
 * How much of a search MLflow 3.18 takes, checked before any request. Its parser (`sqlparse`)
 * refuses a filter of more than 10,000 tokens; its SQLite store fails (503) on a filter whose
 * conditions nest past SQLite's expression depth of 1,000 (a span condition takes two levels), and
 * on a query that joins more than 64 tables (the trace table, one per tag, metadata, assessment or
 * issue condition, one per tag or metadata key in the order). A filter means the same on every
 * store, so these limits apply whatever the server's store is.
 *
 * @internal
 */

/** MLflow's parser refuses more tokens than this (`sqlparse`'s `MAX_GROUPING_TOKENS`) */
export const MAX_FILTER_TOKENS = 10_000
/** SQLite's expression depth of 1,000, less the search's own levels, halved for span conditions (measured) */
export const MAX_CONDITIONS = 495
/** SQLite's 64 tables in a join, less the trace table */
export const MAX_JOINS = 63

/**
 * The tokens `sqlparse` reads in a filter, or a few more: a quoted or back-quoted part, a run of
 * letters and digits, a two-character comparator, or any other character, each whitespace one on
 * its own (`NOT IN` and the like, which it reads as one token, are counted as three).
 */
export const filterTokens = (filter: string): number =>
  filter.match(/'(?:''|\\'|[^'])*'|"(?:""|\\"|[^"])*"|`(?:``|[^`])*`|[\p{L}\p{N}_]+|[!<>=]=|<>|\r\n|[^]/gu)?.length ?? 0

/** Whether MLflow's store joins a table for a condition (tags, metadata and assessments tested for a value). */
const joins = (clause: Clause): boolean => {
  const { entity, key } = mapped(clause.entity, clause.key)
  const isNull = clause.comparator === "IS NULL" || clause.comparator === "IS NOT NULL"
  switch (entity) {
    case "tag":
      // the trace name is a column of the trace table
      return !isNull && key !== "mlflow.traceName"
    case "metadata":
      return !isNull && key !== "mlflow.trace.session"
    case "feedback":
    case "expectation":
      return clause.comparator !== "IS NULL"
    case "issue":
      return true
    default:
      return false
  }
}

/** The tables a filter joins. */
export const joinedTables = (filter: Filter): number => filter.clauses.filter(joins).length

/** Why a parsed filter is more than MLflow takes, if it is. */
export const filterLimits = (text: string, filter: Filter): SearchFilterError | undefined => {
  const refuse = (detail: string) => new SearchFilterError({ filter: text, position: 0, token: "", detail })
  const tokens = filterTokens(text)
  if (tokens > MAX_FILTER_TOKENS) {
    return refuse(`a filter of ${tokens} tokens; MLflow's parser reads at most ${MAX_FILTER_TOKENS}`)
  }
  if (filter.clauses.length > MAX_CONDITIONS) {
    return refuse(
      `${filter.clauses.length} conditions; MLflow's SQLite store fails past ${MAX_CONDITIONS} (its expression depth)`
    )
  }
  const joined = joinedTables(filter)
  if (joined > MAX_JOINS) {
    return refuse(
      `${joined} conditions on tags, metadata or assessments; MLflow's SQLite store joins a table for each and ` +
        `fails past ${MAX_JOINS}`
    )
  }
  return undefined
}

/**
 * An order MLflow would refuse, or that would take the search past its limits.
 *
 * @since 0.2.0
 * @category errors
 */
export class SearchOrderError extends Schema.TaggedError<SearchOrderError>()("SearchOrderError", {
  reason: Schema.Literal("Syntax", "UnknownKey", "Duplicate", "Reserved", "TooManyJoins"),
  orderBy: Schema.String,
  detail: Schema.String
}) {
  get message(): string {
    return `invalid order ${JSON.stringify(this.orderBy)}: ${this.detail}`
  }
}

/** The attribute keys MLflow orders by, as spelled (it compares case-sensitively). */
const ORDER_ATTRIBUTES = [
  "experiment_id",
  "timestamp",
  "timestamp_ms",
  "execution_time",
  "execution_time_ms",
  "end_time",
  "end_time_ms",
  "status",
  "request_id",
  "name",
  "run_id"
]
const ORDER_ENTITIES: Readonly<Record<string, "attribute" | "tag" | "metadata">> = {
  attribute: "attribute",
  attributes: "attribute",
  trace: "attribute",
  tag: "tag",
  tags: "tag",
  metadata: "metadata"
}
/** metadata MLflow's store keeps in several columns, which it does not order by */
const RESERVED_METADATA = new Set(["mlflow.trace.tokenUsage", "mlflow.trace.cost"])
/** orders that sort by a column of the trace table rather than a joined one */
const COLUMNS = new Set(["tag:mlflow.traceName", "metadata:mlflow.trace.session"])

const ORDER =
  /^(?<entity>[a-z_]+\.)?(?<key>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|`[^`]+`)(?:\s+(?<direction>[A-Za-z]+))?$/

/**
 * Checks an order as MLflow 3.18 reads it: `<key> [ASC|DESC]`, the key an attribute it orders by
 * (`timestamp_ms`, `execution_time_ms`, `end_time_ms`, `status`, `request_id`, `experiment_id`,
 * `name`, `run_id`, bare or after `attributes.`), or `tags.<key>` / `metadata.<key>` (dotted words,
 * or back-quoted); each key once. `joined` is the number of tables the filter joins already.
 * Answers why MLflow would refuse the order, if it would.
 *
 * @internal
 */
export const checkOrderBy = (
  orderBy: ReadonlyArray<string>,
  joined: number = 0
): SearchOrderError | undefined => {
  const seen = new Set<string>()
  let joins = joined
  for (const clause of orderBy) {
    const refuse = (reason: SearchOrderError["reason"], detail: string) =>
      new SearchOrderError({ reason, orderBy: clause, detail })
    const match = ORDER.exec(clause)
    if (match === null) {
      return refuse(
        "Syntax",
        "write a key and optionally ASC or DESC, e.g. \"timestamp_ms DESC\" or \"tags.env\" (one key per order, " +
          "no spaces around it; back-quote a key with other characters)"
      )
    }
    const { direction, entity: prefix, key: written } = match.groups as Record<string, string | undefined>
    if (direction !== undefined && !/^(asc|desc)$/i.test(direction)) {
      return refuse("Syntax", `unknown direction "${direction}"; use ASC or DESC`)
    }
    const entity = prefix === undefined ? "attribute" : ORDER_ENTITIES[prefix.slice(0, -1)]
    if (entity === undefined) {
      return refuse("UnknownKey", "MLflow orders by trace attributes, tags. and metadata. keys (in lower case)")
    }
    const key = written!.startsWith("`") ? written!.slice(1, -1) : written!
    if (entity === "attribute" && !ORDER_ATTRIBUTES.includes(key)) {
      return refuse("UnknownKey", `MLflow orders by the attributes ${ORDER_ATTRIBUTES.join(", ")} (in lower case)`)
    }
    // keys such as name and run_id stand for a tag or metadata under any prefix
    const target = mapped(entity, key)
    if (target.entity === "span") return refuse("UnknownKey", "MLflow does not order by span content")
    if (target.entity === "metadata" && RESERVED_METADATA.has(target.key)) {
      return refuse("Reserved", `MLflow does not order by ${target.key} (it keeps it in several columns)`)
    }
    const sorted = `${target.entity}:${target.key}`
    if (seen.has(sorted)) return refuse("Duplicate", "the same key twice in one order (MLflow fails on it)")
    seen.add(sorted)
    if (target.entity !== "attribute" && !COLUMNS.has(sorted)) joins++
    if (joins > MAX_JOINS) {
      return refuse(
        "TooManyJoins",
        `ordering by a tag or metadata key joins a table; with the filter's, ${joins}, past the ${MAX_JOINS} ` +
          "MLflow's SQLite store takes"
      )
    }
  }
  return undefined
}
