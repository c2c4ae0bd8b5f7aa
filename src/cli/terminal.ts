import * as Console from "effect/Console"

/**
 * The command line's output boundary. Text that comes from a trace, a file or a server (span names,
 * tags, previews, file names, error texts) is foreign: it goes through `printable` before it is
 * printed, so that it cannot drive the terminal. The only escape sequences the command writes are
 * its own colours.
 *
 * @internal
 */

/**
 * What is shown as an escape rather than as itself:
 * - every C0 control (newline and tab included: a foreign newline or carriage return would draw a
 *   row of its own), DEL, and every C1 control (a terminal reads U+009B as ESC [);
 * - the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which
 *   reorder what a row seems to say, and the invisible U+200B, U+2060–U+2064, U+FEFF, which hide
 *   text inside a name; the line and paragraph separators U+2028, U+2029.
 * Zero-width joiners and non-joiners (U+200C, U+200D) stay: emoji and several scripts need them.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

const escaped = (ch: string): string => {
  const named = NAMED[ch]
  if (named !== undefined) return named
  const code = ch.charCodeAt(0)
  return code <= 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/** Foreign text as it may be printed: controls and invisible reordering characters shown as escapes. */
export const printable = (text: string): string => text.replace(UNPRINTABLE, escaped)

/**
 * Colours: `FORCE_COLOR` (set, and not `0` or `false`) turns them on, else `NO_COLOR` off, else
 * they follow whether standard output is a terminal.
 */
export const colorOn = (): boolean => {
  const forced = process.env.FORCE_COLOR
  if (forced !== undefined && forced !== "0" && forced !== "false") return true
  return process.stdout.isTTY === true && process.env.NO_COLOR === undefined
}

/** `text` in ANSI colour `code` when colours are on. */
export const paint = (on: boolean, code: number, text: string): string => on ? `\u001b[${code}m${text}\u001b[0m` : text

/** A line about the command's work on standard error, its foreign parts (file names, error texts) shown printable. */
export const warn = (line: string) => Console.error(`effect-mlflow: ${printable(line)}`)
