import {
  ATTRIBUTE_KEYS,
  check,
  type Clause,
  type Comparator,
  COMPARATORS,
  type Entity,
  ENTITY_PREFIX,
  type Filter,
  SearchFilterError,
  type Written
} from "./filterGrammar.js"
import { pythonStrings } from "./pythonLiteral.js"
import { filterLimits } from "./searchLimits.js"

/**
 * A reader of trace filters as MLflow 3.18 reads them: its parser lexes the string as SQL
 * (`sqlparse`), takes a statement of comparisons and `AND`s, reads values without unescaping them,
 * and reads lists as Python literals.
 *
 * @internal
 */
interface Token {
  readonly kind:
    | "identifier"
    | "string"
    | "symbol"
    | "number"
    | "operator"
    | "keyword"
    | "builtin"
    | "list"
    | "other"
  readonly text: string
  readonly position: number
  /** keywords: in capitals, whitespace as written */
  readonly word?: string
}

/**
 * Where the quoted string opening at `start` ends, read as MLflow's tokenizer reads it
 * (`'(''|\\'|[^'])*'`, greedily, and with the first plain closing quote when that runs off the end).
 */
const closingQuote = (filter: string, start: number): number => {
  const greedy = greedyClosingQuote(filter, start)
  return greedy === -1 ? filter.indexOf(filter[start], start + 1) : greedy
}

/**
 * Where MLflow's tokenizer ends the quoted string opening at `start` when it reads it greedily:
 * a doubled quote and a backslash-quote stay inside, a lone quote ends it; -1 if it runs off the end.
 *
 * @internal
 */
export const greedyClosingQuote = (filter: string, start: number): number => {
  const quote = filter[start]
  for (let j = start + 1; j < filter.length; j++) {
    const c = filter[j]
    if ((c === quote || c === "\\") && filter[j + 1] === quote) j++
    else if (c === quote) return j
  }
  return -1
}

/** where a back-quoted name opening at `start` ends (a doubled back-tick stays inside); -1 if never */
const closingBacktick = (filter: string, start: number): number => {
  for (let j = start + 1; j < filter.length; j++) {
    if (filter[j] === "`") {
      if (filter[j + 1] === "`") j++
      else return j
    }
  }
  return -1
}

const WORD_START = /[\p{L}_]/u
const WORD = /^[\p{L}\p{N}_]+/u
const SEGMENT = /^[\p{L}\p{N}_]+/u
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE]-?\d+)?/
const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL"])
const PATTERN_OPERATORS = new Set(["LIKE", "ILIKE", "RLIKE"])

const tokenize = (filter: string): Array<Token> => {
  const tokens: Array<Token> = []
  const fail = (position: number, token: string, detail: string): never => {
    throw new SearchFilterError({ filter, position, token, detail })
  }
  /** the end of a quoted or back-quoted segment opening at `i` */
  const quotedEnd = (i: number): number => {
    const c = filter[i]
    const end = c === "`" ? closingBacktick(filter, i) : closingQuote(filter, i)
    if (end === -1) {
      fail(
        i,
        filter.slice(i, i + 20),
        c === "`" ? "unterminated back-tick" : `unterminated ${c === "'" ? "single" : "double"} quote`
      )
    }
    return end + 1
  }
  /** dotted segments after a first one ending at `i`: bare, back-quoted or quoted */
  const segmentsEnd = (i: number): number => {
    while (filter[i] === ".") {
      const next = filter[i + 1] ?? ""
      if (next === "`" || next === "'" || next === "\"") i = quotedEnd(i + 1)
      else {
        const match = SEGMENT.exec(filter.slice(i + 1))
        if (match === null) return i + 1
        i += 1 + match[0].length
      }
    }
    return i
  }
  let i = 0
  while (i < filter.length) {
    const c = filter[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const start = i
    const push = (kind: Token["kind"], end: number, word?: string) => {
      tokens.push({ kind, text: filter.slice(start, end), position: start, ...(word === undefined ? {} : { word }) })
      i = end
    }
    if (c === "'") push("string", quotedEnd(i))
    else if (c === "\"" || c === "`") {
      const end = quotedEnd(i)
      if (filter[end] === ".") push("identifier", segmentsEnd(end))
      else push(c === "`" ? "identifier" : "symbol", end)
    } else if (c === "(") push("list", listEnd(filter, i, fail))
    else if (/[=!<>]/.test(c)) {
      const two = filter.slice(i, i + 2)
      push("operator", i + (["!=", ">=", "<=", "<>", "=="].includes(two) ? 2 : 1))
    } else if (/[-.0-9]/.test(c) && NUMBER.test(filter.slice(i))) {
      const match = NUMBER.exec(filter.slice(i))!
      if (WORD_START.test(filter[i + match[0].length] ?? "") || /\d/.test(filter[i + match[0].length] ?? "")) {
        push("other", i + match[0].length)
      } else push("number", i + match[0].length)
    } else if (WORD_START.test(c)) {
      const word = WORD.exec(filter.slice(i))![0]
      const end = i + word.length
      const upper = word.toUpperCase()
      if (filter[end] === ".") push("identifier", segmentsEnd(end))
      else if (upper === "NOT" && /^\s+NULL(?![\p{L}\p{N}_])/iu.test(filter.slice(end))) {
        const tail = /^\s+NULL/i.exec(filter.slice(end))![0]
        push("keyword", end + tail.length, `NOT${tail.slice(0, -4)}NULL`)
      } else if (KEYWORDS.has(upper)) push("keyword", end, upper)
      else if (PATTERN_OPERATORS.has(upper)) push("operator", end)
      else if (upper === "TIMESTAMP" || upper === "TEXT") push("builtin", end)
      else push("identifier", end)
    } else push("other", i + (c.codePointAt(0)! > 0xffff ? 2 : 1))
  }
  return tokens
}

/** where the parenthesised list opening at `start` ends, quotes skipped as the tokenizer reads them */
const listEnd = (filter: string, start: number, fail: (position: number, token: string, detail: string) => never) => {
  let depth = 0
  for (let j = start; j < filter.length; j++) {
    const c = filter[j]
    if (c === "'" || c === "\"") {
      const end = closingQuote(filter, j)
      if (end === -1) break
      j = end
    } else if (c === "(") depth++
    else if (c === ")" && --depth === 0) return j + 1
  }
  return fail(start, filter.slice(start, start + 20), "unclosed parenthesis")
}

/** MLflow's reading of a key: split at the first dot; quotes, then back-ticks, taken off the key. */
const identifierParts = (text: string): { entity: Entity; key: string } | { error: string; at: "entity" | "key" } => {
  const dot = text.indexOf(".")
  const stripped = (raw: string) => {
    const unquoted = isWrapped(raw, "'") || isWrapped(raw, "\"") ? raw.slice(1, -1) : raw
    return isWrapped(unquoted, "`") ? unquoted.slice(1, -1) : unquoted
  }
  if (dot === -1) {
    const key = stripped(text)
    return ATTRIBUTE_KEYS.has(key) ? { entity: "attribute", key } : { error: unknownAttribute(key), at: "key" }
  }
  const prefix = text.slice(0, dot)
  const entity = ENTITY_PREFIX[isWrapped(prefix, "`") ? prefix.slice(1, -1) : prefix]
  if (entity === undefined) {
    return {
      error: `unknown entity "${prefix}"; use attributes, tags, metadata, span, feedback, expectation or issue` +
        " (in lower case)",
      at: "entity"
    }
  }
  const key = stripped(text.slice(dot + 1))
  if (entity === "attribute" && !ATTRIBUTE_KEYS.has(key)) return { error: unknownAttribute(key), at: "key" }
  // MLflow's store searches a span attribute by its name with back-ticks taken off
  if (entity === "span" && key.startsWith("attributes.")) {
    const name = key.slice("attributes.".length)
    return { entity, key: `attributes.${isWrapped(name, "`") ? name.slice(1, -1) : name}` }
  }
  return { entity, key }
}

const unknownAttribute = (key: string) =>
  `unknown trace attribute "${key}"; known (in lower case): ${[...ATTRIBUTE_KEYS].join(", ")}`

const isWrapped = (value: string, quote: string) =>
  value.length >= 2 && value.startsWith(quote) && value.endsWith(quote)

const written = (token: Token | undefined): Written | undefined => {
  switch (token?.kind) {
    case "string":
    case "symbol":
      return { kind: "string", value: token.text.slice(1, -1) }
    case "number":
      return {
        kind: "number",
        value: Number(token.text),
        integer: /^-?\d+$/.test(token.text),
        text: token.text
      }
  }
  return undefined
}

/** @internal */
export const parseUnsafe = (filter: string): Filter => {
  const fail = (token: Token | undefined, detail: string): never => {
    throw new SearchFilterError({
      filter,
      position: token?.position ?? filter.length,
      token: token?.text ?? "<end>",
      detail
    })
  }
  if (filter.length > 0 && filter.trim() === "") {
    fail(undefined, "a filter of whitespace only; give none, or a condition")
  }
  const tokens = tokenize(filter)
  const clauses: Array<Clause> = []
  let i = 0
  while (i < tokens.length) {
    const first = tokens[i++]
    // MLflow skips every AND, wherever it stands: between conditions, before, after, repeated
    if (first.kind === "keyword" && first.word === "AND") continue
    if (first.kind === "keyword" && first.word === "OR") {
      fail(first, "MLflow filters combine conditions with AND only (no OR)")
    }
    if (first.kind === "builtin") {
      clauses.push(bareBuiltin(first, tokens[i], tokens[i + 1], fail))
      i += 2
      continue
    }
    if (first.kind !== "identifier" && first.kind !== "symbol") {
      fail(first, "expected a key such as attributes.status or tags.env")
    }
    const parts = identifierParts(first.text)
    if ("error" in parts) fail(first, parts.error)
    const { entity, key } = parts as { entity: Entity; key: string }

    const operator = tokens[i++]
    let comparator: string | undefined
    let value: Written = { kind: "none" }
    let valueToken: Token | undefined
    if (operator?.kind === "operator") {
      comparator = operator.text
      valueToken = tokens[i++]
      const read = written(valueToken)
      if (valueToken?.kind === "list") value = readList(valueToken, fail)
      else if (read === undefined) {
        fail(valueToken, valueToken?.kind === "identifier" ? "expected a quoted value" : "expected a value")
      } else value = read
    } else if (operator?.kind === "keyword" && operator.word === "IS") {
      const next = tokens[i++]
      if (next?.kind === "keyword" && next.word === "NULL") comparator = "IS NULL"
      else if (next?.kind === "keyword" && next.word === "NOT NULL") comparator = "IS NOT NULL"
      else if (next?.kind === "keyword" && next.word?.startsWith("NOT")) {
        fail(next, "write IS NOT NULL with one space between NOT and NULL (MLflow reads no other)")
      } else fail(next, "expected NULL or NOT NULL after IS")
    } else if (operator?.kind === "keyword" && (operator.word === "IN" || operator.word === "NOT")) {
      if (operator.word === "NOT") {
        const inWord = tokens[i++]
        if (!(inWord?.kind === "keyword" && inWord.word === "IN")) fail(inWord ?? operator, "expected IN after NOT")
      }
      valueToken = tokens[i++]
      if (valueToken?.kind !== "list") {
        fail(valueToken, `${operator.word === "NOT" ? "NOT IN" : "IN"} needs a list such as ('a', 'b')`)
      }
      comparator = operator.word === "NOT" ? "NOT IN" : operator.text
      value = readList(valueToken!, fail)
    }
    if (comparator === undefined || !isComparator(comparator)) {
      fail(operator, "expected a comparator (= != > >= < <= LIKE ILIKE RLIKE IN NOT IN IS NULL IS NOT NULL)")
    }
    const refused = check(entity, key, comparator!, value, first.text)
    if (refused !== undefined) {
      fail(refused.at === "key" ? first : refused.at === "comparator" ? operator : valueToken, refused.detail)
    }
    clauses.push({
      entity,
      key,
      comparator: comparator!.toUpperCase() as Comparator,
      value: value.kind === "none" ? undefined : value.value
    })
    const next = tokens[i]
    if (next !== undefined && !(next.kind === "keyword" && next.word === "AND")) {
      if (next.kind !== "identifier" && next.kind !== "symbol" && next.kind !== "builtin") {
        fail(next, next.word === "OR" ? "MLflow filters combine conditions with AND only (no OR)" : "expected AND")
      }
    }
  }
  const limited = filterLimits(filter, { clauses })
  if (limited !== undefined) throw limited
  return { clauses }
}

const isComparator = (text: string) => COMPARATORS.has(text.toUpperCase())

const readList = (token: Token, fail: (token: Token | undefined, detail: string) => never): Written => {
  const strings = pythonStrings(token.text)
  if (typeof strings === "string") return fail(token, strings)
  return { kind: "list", value: strings }
}

/**
 * Bare `timestamp` and `text` are SQL type names to MLflow's tokenizer: `timestamp` stands only
 * before an order comparator and an integer, `text` never (write `trace.text`).
 */
const bareBuiltin = (
  first: Token,
  operator: Token | undefined,
  value: Token | undefined,
  fail: (token: Token | undefined, detail: string) => never
): Clause => {
  if (first.text !== "timestamp") {
    return fail(first, `a bare ${first.text} is a SQL type name to MLflow; write trace.${first.text.toLowerCase()}`)
  }
  if (operator?.kind !== "operator" || !["=", "!=", ">", ">=", "<", "<="].includes(operator.text)) {
    return fail(operator, "a bare timestamp takes = != > >= < <= and an integer; write trace.timestamp otherwise")
  }
  if (value?.kind !== "number" || !/^-?\d+$/.test(value.text)) {
    return fail(value, "a bare timestamp compares with an integer number of milliseconds")
  }
  const refused = check("attribute", "timestamp", operator.text, written(value)!, "timestamp")
  if (refused !== undefined) fail(value, refused.detail)
  return { entity: "attribute", key: "timestamp", comparator: operator.text as Comparator, value: Number(value.text) }
}
