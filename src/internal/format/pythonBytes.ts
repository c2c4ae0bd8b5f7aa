/**
 * Python's `ast.literal_eval` of a bytes literal, as Gemini's SDK writes bytes when it serializes
 * them with `repr`: `b'\x89PNG...'`. Read: adjacent literals (`b'a' b"b"`, raw and triple-quoted
 * ones), Python's escapes, trailing blanks and a comment. Anything else is `undefined` (where
 * Python might still read it, the content simply stays inline).
 *
 * @internal
 */

const SIMPLE: Readonly<Record<string, number>> = {
  "\\": 0x5c,
  "'": 0x27,
  "\"": 0x22,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b
}

const code = (c: string) => c.charCodeAt(0)

/** The bytes of one literal's body, or `undefined` where Python refuses it. */
const body = (text: string, raw: boolean, triple: boolean, out: Array<number>): boolean => {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (code(c) > 0x7f || c === "\0" || (!triple && (c === "\n" || c === "\r"))) return false
    if (c !== "\\") {
      out.push(code(c))
      continue
    }
    const next = text[i + 1]
    if (next === undefined) return false
    if (raw) {
      out.push(0x5c, code(next))
      i++
      continue
    }
    if (next === "\n") {
      i++
      continue
    }
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))
    if (octal !== null) {
      out.push(parseInt(octal[0], 8) & 0xff)
      i += octal[0].length
    } else if (next === "x") {
      const hex = text.slice(i + 2, i + 4)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return false
      out.push(parseInt(hex, 16))
      i += 3
    } else if (next in SIMPLE) {
      out.push(SIMPLE[next])
      i++
    } else {
      if (code(next) > 0x7f) return false
      out.push(0x5c, code(next))
      i++
    }
  }
  return true
}

const LITERAL = /^(b|B|br|bR|Br|BR|rb|rB|Rb|RB)('''|"""|'|")/

/** @internal */
export const pythonBytes = (text: string): Uint8Array | undefined => {
  const out: Array<number> = []
  let i = 0
  let literals = 0
  for (;;) {
    const blanks = /^[ \t\f]*/.exec(text.slice(i))![0]
    const rest = text.slice(i + blanks.length)
    const opening = LITERAL.exec(rest)
    if (opening === null) break
    const [whole, prefix, quote] = opening
    const start = i + blanks.length + whole.length
    // the closing quote: the first one not escaped by a backslash
    let end = start
    for (;;) {
      end = text.indexOf(quote, end)
      if (end < 0) return undefined
      let backslashes = 0
      while (text[end - 1 - backslashes] === "\\") backslashes++
      if (backslashes % 2 === 0) break
      end++
    }
    if (!body(text.slice(start, end), /r/i.test(prefix), quote.length === 3, out)) return undefined
    literals++
    i = end + quote.length
  }
  if (literals === 0) return undefined
  return /^[ \t\f\r\n]*(#[^\n\r]*)?[ \t\f\r\n]*$/.test(text.slice(i)) ? Uint8Array.from(out) : undefined
}
