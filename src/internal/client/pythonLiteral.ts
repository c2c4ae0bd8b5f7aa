/**
 * MLflow reads the list of an `IN` condition with Python's `ast.literal_eval`: the strings of a
 * Python tuple (or one string), written as Python writes string literals: with `u` or `r` prefixes,
 * single, double or triple quotes, escapes, adjacent literals joined, a trailing comma.
 *
 * @internal
 */

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  "\"": "\"",
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\n": ""
}

type Value = string | ReadonlyArray<Value>

class Refused extends Error {}

/** Python's escapes in a non-raw literal's body; unknown escapes keep their backslash, as in Python. */
const unescape = (body: string): string =>
  body.replace(
    /\\([0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[\s\S])/g,
    (whole, e: string) => {
      if (/^[0-7]/.test(e)) return String.fromCodePoint(parseInt(e, 8))
      if (e[0] === "x" || e[0] === "u" || (e[0] === "U" && e.length === 9)) {
        const code = parseInt(e.slice(1), 16)
        if (code > 0x10ffff) throw new Refused("an escape past the last code point")
        return String.fromCodePoint(code)
      }
      if (e[0] === "N" && e.length > 1) throw new Refused("named escapes (\\N{...}) are not read here")
      return SIMPLE_ESCAPES[e] ?? whole
    }
  )

const reader = (text: string) => {
  let i = 0
  const skipSpace = () => {
    for (;;) {
      if (/\s/.test(text[i] ?? "")) i++
      else if (text[i] === "\\" && text[i + 1] === "\n") i += 2
      else return
    }
  }
  const literal = (): string => {
    const prefix = /^[uUrR]?/.exec(text.slice(i))![0]
    const raw = prefix === "r" || prefix === "R"
    i += prefix.length
    const quote = text.startsWith("'''", i) || text.startsWith("\"\"\"", i) ? text.slice(i, i + 3) : text[i]
    if (quote !== "'" && quote !== "\"" && quote.length !== 3) throw new Refused("expected a quoted string")
    i += quote.length
    const start = i
    for (;;) {
      if (i >= text.length) throw new Refused("an unterminated string")
      const c = text[i]
      if (c === "\\") i += 2
      else if (text.startsWith(quote, i)) break
      else if (c === "\n" && quote.length === 1) throw new Refused("a line break inside a one-line string")
      else i++
    }
    const body = text.slice(start, i)
    i += quote.length
    return raw ? body : unescape(body)
  }
  const startsLiteral = () => /^[uUrR]?['"]/.test(text.slice(i))
  const value = (): Value => {
    skipSpace()
    if (text[i] === "(") {
      i++
      const items: Array<Value> = []
      let tuple = false
      for (;;) {
        skipSpace()
        if (text[i] === ")") {
          i++
          break
        }
        items.push(value())
        skipSpace()
        if (text[i] === ",") {
          tuple = true
          i++
        } else if (text[i] !== ")") throw new Refused("expected , or ) in the list")
      }
      if (!tuple && items.length === 1) return items[0]
      return items
    }
    if (!startsLiteral()) {
      throw new Refused(
        /^[bBfF]/.test(text.slice(i)) ? "bytes and f-strings are not strings here" : "expected a quoted string"
      )
    }
    let joined = ""
    do {
      joined += literal()
      skipSpace()
    } while (startsLiteral())
    return joined
  }
  return {
    read: (): Value => {
      const result = value()
      skipSpace()
      if (i !== text.length) throw new Refused("unexpected text after the list")
      return result
    }
  }
}

/**
 * The strings of a parenthesised list as MLflow reads it, or why it refuses it.
 *
 * @internal
 */
export const pythonStrings = (text: string): ReadonlyArray<string> | string => {
  let value: Value
  try {
    value = reader(text).read()
  } catch (error) {
    if (error instanceof Refused) return `a list of quoted strings, as Python reads it: ${error.message}`
    throw error
  }
  const items = typeof value === "string" ? [value] : value
  if (items.length === 0) return "a list needs at least one quoted string"
  if (!items.every((item): item is string => typeof item === "string")) return "a list holds quoted strings only"
  return items
}
