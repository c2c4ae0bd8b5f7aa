import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Entry, Setting } from "../../src/internal/config/setting.js"
import * as Settings from "../../src/internal/config/settings.js"

/** The README's configuration table, row by row: the variables, the options, the meaning and the default. */
const readmeRows = () => {
  const lines = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8").split("\n")
  const header = lines.findIndex((line) =>
    /^\| Environment variable +\| Option +\| Meaning +\| Default +\|$/.test(line)
  )
  assert.isAtLeast(header, 0, "the README has its configuration table")
  const rows: Array<{ env: Set<string>; options: Array<string>; doc: string; default: string; line: string }> = []
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break
    const [env, options, doc, fallback] = line.slice(1, -1).split(" | ").map((cell) => cell.trim())
    rows.push({
      // `OTEL_EXPORTER_OTLP[_TRACES]_X` names the traces variable and the general one
      env: new Set(
        [...env.matchAll(/`([A-Z0-9_[\]]+)`/g)].flatMap(([, name]) =>
          name.includes("[_TRACES]") ? [name.replace("[_TRACES]", "_TRACES"), name.replace("[_TRACES]", "")] : [name]
        )
      ),
      options: options.split(" / ").map((option) => option.replace(/`/g, "")).filter((option) => option !== ""),
      doc,
      default: fallback,
      line
    })
  }
  return rows
}

type Described =
  | { readonly _tag: "Setting"; readonly setting: Setting<any, any> }
  | { readonly _tag: "Summary"; readonly env: ReadonlySet<string>; readonly default: string; readonly doc: string }

/** What the settings table says the README shows: a row per setting, or one per summarized group, and switches. */
const described = () => {
  const byOption = new Map<string, Described>()
  const switches: Array<Setting<any, any>> = []
  const add = (prefix: string, table: Readonly<Record<string, Entry>>) => {
    for (const [key, entry] of Object.entries(table)) {
      const option = prefix + key
      if (entry._tag === "Setting") {
        byOption.set(option, { _tag: "Setting", setting: entry })
      } else if (entry.summary !== undefined) {
        const env = new Set(Object.values(entry.settings).flatMap((setting: any) => setting.env as Array<string>))
        byOption.set(option, { _tag: "Summary", env, ...entry.summary })
      } else {
        add(`${option}.`, entry.settings)
        if (entry.switch !== undefined) switches.push(entry.switch)
      }
    }
  }
  add("", Settings.all)
  return { byOption, switches }
}

describe("the README's configuration table", () => {
  it("shows each setting of the settings table once, with its variables, option, default and meaning", () => {
    const { byOption, switches } = described()
    const shown = new Set<unknown>()
    for (const row of readmeRows()) {
      if (row.options.length === 0) {
        const toggle = switches.find((setting) =>
          setting.env.length === row.env.size && setting.env.every((name) => row.env.has(name))
        )
        assert.isDefined(toggle, `${row.line}: no setting is read from these variables`)
        assert.strictEqual(row.default, toggle!.default, row.line)
        assert.strictEqual(row.doc, toggle!.doc, row.line)
        shown.add(toggle)
        continue
      }
      const entries = row.options.map((option) => {
        const entry = byOption.get(option)
        assert.isDefined(entry, `${row.line}: ${option} is not in the settings table`)
        assert.isFalse(shown.has(entry), `${option} has two rows`)
        shown.add(entry)
        return entry!
      })
      const [first] = entries
      if (first._tag === "Summary") {
        assert.strictEqual(entries.length, 1, row.line)
        for (const name of row.env) {
          assert.isTrue(first.env.has(name), `${row.line}: ${name} is not one of its settings`)
        }
        assert.strictEqual(row.default, first.default, row.line)
        assert.strictEqual(row.doc, first.doc, row.line)
        continue
      }
      const settings = entries.map((entry) => (entry as Extract<Described, { _tag: "Setting" }>).setting)
      assert.deepStrictEqual(row.env, new Set(settings.flatMap((setting) => setting.env)), row.line)
      assert.strictEqual(
        row.default,
        settings.map((setting) => setting.default).filter((text) => text !== "").join(" / "),
        row.line
      )
      for (const setting of settings) assert.strictEqual(row.doc, setting.doc, row.line)
    }
    for (const [option, entry] of byOption) assert.isTrue(shown.has(entry), `${option} has no row in the README`)
    for (const toggle of switches) assert.isTrue(shown.has(toggle), `${toggle.env[0]} has no row in the README`)
  })
})
