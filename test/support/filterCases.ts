import { FastCheck as fc } from "effect"

/**
 * Trace search filters generated from MLflow 3.18's grammar (`SearchTraceUtils` over `sqlparse`):
 * every entity prefix and alias, keys bare, back-quoted, quoted and non-ASCII, every comparator in
 * its spellings, values of every literal kind, lists in every punctuation, and the ways clauses are
 * joined. Each case is a filter string; MLflow decides what it means.
 */

const ENTITIES = [
  "attribute",
  "attributes",
  "trace",
  "tag",
  "tags",
  "metadata",
  "request_metadata",
  "span",
  "feedback",
  "expectation",
  "issue",
  "run",
  "`tags`",
  "Tags"
]
const ATTRIBUTE_KEYS = [
  "request_id",
  "timestamp",
  "timestamp_ms",
  "execution_time",
  "execution_time_ms",
  "end_time",
  "end_time_ms",
  "status",
  "client_request_id",
  "name",
  "run_id",
  "prompt",
  "text",
  "Status",
  "experiment_id",
  "unknown"
]
const FREE_KEYS = [
  "k",
  "my.key",
  "`my.key`",
  "`my key`",
  "\"my key\"",
  "'my key'",
  "ключ",
  "`ключ`",
  "k-1",
  "`k-1`",
  "_k",
  "1k",
  "`a``b`",
  "``",
  "mlflow.traceName",
  "`mlflow.trace.user`"
]
const SPAN_KEYS = [
  "name",
  "type",
  "status",
  "content",
  "attributes.k",
  "attributes.`a.b`",
  "attributes.",
  "attributes",
  "duration",
  "Name"
]
const ISSUE_KEYS = ["id", "name"]

const COMPARATORS = [
  "=",
  "!=",
  ">",
  ">=",
  "<",
  "<=",
  "==",
  "<>",
  "LIKE",
  "like",
  "ILIKE",
  "RLIKE",
  "IN",
  "in",
  "NOT IN",
  "not in",
  "IS NULL",
  "is null",
  "IS NOT NULL",
  "IS  NOT NULL",
  "IS\tNOT\nNULL",
  "is not null",
  "NOT LIKE"
]
const VALUES = [
  "'v'",
  "\"v\"",
  "'it''s'",
  "'it\\'s'",
  "\"say \"\"hi\"\"\"",
  "'a\\\\b'",
  "''",
  "'%x%'",
  "'ü✓😀'",
  "42",
  "-7",
  "1.5",
  "1e3",
  "1.5E-3",
  "'1700000000000'",
  "\"1700000000000\"",
  "99999999999999999999",
  "0.5",
  "v",
  "`v`",
  "('a', 'b')",
  "('a')",
  "(\"a\", \"b\")",
  "('a', 'b',)",
  "( 'a' , 'b' )",
  "('a' 'b')",
  "()",
  "(1, 2)",
  "('a', 1)",
  "('OK', 'ERROR')",
  "NULL",
  "TRUE"
]

const keysFor = (entity: string): ReadonlyArray<string> => {
  const bare = entity.replace(/`/g, "").toLowerCase()
  if (["attribute", "attributes", "trace"].includes(bare)) return ATTRIBUTE_KEYS
  if (bare === "span") return SPAN_KEYS
  if (bare === "issue") return ISSUE_KEYS
  return FREE_KEYS
}

const NULLS = (comparator: string) => comparator.toUpperCase().replace(/\s+/g, " ").endsWith("NULL")
const clauses = (identifiers: ReadonlyArray<string>, values: ReadonlyArray<string>) =>
  identifiers.flatMap((identifier) =>
    COMPARATORS.flatMap((comparator) =>
      NULLS(comparator)
        ? [`${identifier} ${comparator}`]
        : values.map((value) => `${identifier} ${comparator} ${value}`)
    )
  )

/**
 * Every identifier with every comparator and a value of each kind (string, number, list); every
 * value form with every comparator on one identifier of each entity.
 */
const singleClauses = (): Array<string> => {
  const identifiers = [
    ...ATTRIBUTE_KEYS,
    ...ENTITIES.flatMap((entity) => keysFor(entity).map((key) => `${entity}.${key}`))
  ]
  const representatives = [
    "status",
    "timestamp_ms",
    "attributes.request_id",
    "trace.name",
    "tags.k",
    "metadata.k",
    "span.name",
    "span.attributes.k",
    "span.content",
    "feedback.k",
    "expectation.k",
    "issue.id",
    "text",
    "prompt"
  ]
  return [...clauses(identifiers, ["'v'", "5", "('a', 'b')"]), ...clauses(representatives, VALUES)]
}

/** How clauses are joined and spaced, and whole-filter oddities. */
const joins = (): Array<string> => {
  const a = "tags.a = 'x'"
  const b = "attributes.status = 'OK'"
  const c = "timestamp_ms > 5"
  return [
    "",
    " ",
    "\t\n",
    `${a} AND ${b}`,
    `${a} and ${b}`,
    `${a} And ${b} AND ${c}`,
    `${a} AND`,
    `AND ${a}`,
    `${a} AND AND ${b}`,
    `${a} OR ${b}`,
    `${a} ${b}`,
    `${a}, ${b}`,
    `(${a})`,
    `(${a}) AND ${b}`,
    `${a} AND (${b} AND ${c})`,
    `NOT ${a}`,
    `${a};`,
    `${a}; ${b}`,
    `${a} AND ${c}`,
    `${c} AND ${a}`,
    `${a}AND ${b}`,
    `tags.a='x'AND attributes.status='OK'`,
    `tags.a='x' AND attributes.status='OK' AND span.name = 'llm' AND feedback.score > 0.5`,
    `  ${a}  `,
    `${a}\nAND\n${b}`,
    "timestamp > 5 AND timestamp_ms < 10",
    "timestamp = 5",
    "timestamp_ms >= 1.5",
    "timestamp > '5'",
    "timestamp > 5 AND tags.a = 'x'",
    "execution_time_ms > 1 AND execution_time_ms < 2",
    "tags.a = 'x' -- comment",
    "tags.a = 'x' /* c */",
    "tags.a = 'x' AND tags.b IS NULL",
    "tags.a IS NULL AND tags.b = 'x'",
    "tags.a IS NOT NULL AND metadata.b IS NULL",
    "span.attributes.k = 'v' AND span.type = 'LLM'",
    "feedback.score IS NULL AND expectation.answer = 'x'",
    "trace.name IN ('a', 'b') AND trace.run_id IN ('r')",
    "name IN ('a', 'b')",
    "run_id = 'r' AND prompt = 'p'",
    "text LIKE '%x%' AND text ILIKE '%y%'"
  ]
}

const atom = fc.constantFrom(
  "a",
  "b",
  "'",
  "\"",
  "\\",
  " ",
  "`",
  "(",
  ")",
  ",",
  "=",
  ".",
  "%",
  "1",
  "é",
  "😀",
  "AND",
  "IN",
  "IS",
  "NULL",
  "tags",
  "trace"
)

/** Shuffled fragments of the grammar: the corners no enumeration names. */
const fuzz = (): Array<string> =>
  fc.sample(
    fc.tuple(
      fc.constantFrom(...ENTITIES, ...ATTRIBUTE_KEYS),
      fc.array(atom, { maxLength: 4 }).map((parts) => parts.join("")),
      fc.constantFrom(...COMPARATORS),
      fc.constantFrom(...VALUES),
      fc.array(atom, { maxLength: 4 }).map((parts) => parts.join(""))
    ).map(([entity, key, comparator, value, tail]) => `${entity}.${key} ${comparator} ${value}${tail}`),
    { numRuns: 600, seed: 20261203 }
  )

/**
 * The generated cases, without repeats, in a fixed order.
 */
export const filterCases = (): Array<string> => [...new Set([...joins(), ...singleClauses(), ...fuzz()])]
