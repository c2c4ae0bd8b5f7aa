/**
 * INI files as Python's `configparser` and botocore read them: `[section]`, `key = value` or
 * `key: value`, keys lower-cased, whole-line `#` and `;` comments. An indented line continues the
 * value above (a nested block such as AWS's `s3 =`) and is left out.
 *
 * @internal
 */

export type Sections = ReadonlyMap<string, ReadonlyMap<string, string>>

export const parseIni = (text: string): Sections => {
  const sections = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;]|$)/.test(raw)) continue
    const header = /^\s*\[([^\]]*)\]\s*$/.exec(raw)
    if (header !== null) {
      const name = header[1].trim()
      current = sections.get(name) ?? new Map()
      sections.set(name, current)
      continue
    }
    // an indented line continues the value above (a nested block such as `s3 =`): not a setting
    if (current === undefined || /^\s/.test(raw)) continue
    const at = raw.search(/[=:]/)
    if (at <= 0) continue
    current.set(raw.slice(0, at).trim().toLowerCase(), raw.slice(at + 1).trim())
  }
  return sections
}
