import {
  type Clause,
  type Comparator,
  comparatorsFor,
  type Entity,
  ENTITY_PREFIX,
  type Filter,
  NUMERIC,
  SearchFilterError
} from "./filterGrammar.js"

/**
 * The tokenizer and parser of MLflow's trace filter grammar.
 *
 * @internal
 */
interface Token {
  readonly kind: "identifier" | "string" | "number" | "operator" | "word" | "lparen" | "rparen" | "comma"
  readonly text: string
  readonly value: string
  readonly position: number
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

const ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  "\"": "\"",
  n: "\n",
  r: "\r",
  t: "\t",
  "0": "\0",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v"
}

/** List items are Python literals to MLflow (`ast.literal_eval`): their escapes are read as Python reads them. */
const pythonUnescape = (value: string): string =>
  value.includes("\\")
    ? value.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/gs, (whole, escape: string) => {
      if (escape.length > 1) return String.fromCodePoint(parseInt(escape.slice(1), 16))
      return ESCAPES[escape] ?? whole
    })
    : value

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
      const end = closingQuote(filter, i)
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

/** @internal */
export const parseUnsafe = (filter: string): Filter => {
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
        items.push(pythonUnescape(item!.value))
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
