import { setOwn } from "../common/json.js"

/**
 * A JSON parser that keeps integers beyond 2^53 exact, as `bigint`: MLflow writes nanosecond times
 * (about 1.7e18) as JSON numbers.
 *
 * @internal
 */
export const parseBigJson = (text: string): unknown => {
  let i = 0
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i} in JSON`)
  }
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++
  }
  const value = (): unknown => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      const out: Record<string, unknown> = {}
      ws()
      if (text[i] === "}") {
        i++
        return out
      }
      for (;;) {
        ws()
        if (text[i] !== "\"") fail("expected a key")
        const key = string()
        ws()
        if (text[i++] !== ":") fail("expected ':'")
        setOwn(out, key, value())
        ws()
        const next = text[i++]
        if (next === "}") return out
        if (next !== ",") fail("expected ',' or '}'")
      }
    }
    if (c === "[") {
      i++
      const out: Array<unknown> = []
      ws()
      if (text[i] === "]") {
        i++
        return out
      }
      for (;;) {
        out.push(value())
        ws()
        const next = text[i++]
        if (next === "]") return out
        if (next !== ",") fail("expected ',' or ']'")
      }
    }
    if (c === "\"") return string()
    if (text.startsWith("true", i)) return (i += 4, true)
    if (text.startsWith("false", i)) return (i += 5, false)
    if (text.startsWith("null", i)) return (i += 4, null)
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
    if (match === null) return fail("unexpected token")
    i += match[0].length
    if (match[2] === undefined && match[3] === undefined) {
      const n = Number(match[0])
      return Number.isSafeInteger(n) ? n : BigInt(match[0])
    }
    return Number(match[0])
  }
  const string = (): string => {
    const start = i
    i++
    let escaped = false
    while (i < text.length) {
      const c = text[i]
      if (c === "\\") {
        escaped = true
        i += 2
        continue
      }
      if (c === "\"") break
      i++
    }
    if (i >= text.length) fail("unterminated string")
    i++
    const raw = text.slice(start, i)
    return escaped ? JSON.parse(raw) : raw.slice(1, -1)
  }
  const result = value()
  ws()
  if (i !== text.length) fail("unexpected trailing text")
  return result
}
