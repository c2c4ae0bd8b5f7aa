import { assert, describe, inject, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SearchFilter as F } from "../../src/index.js"
import { databaseAt } from "../harness/postgres.js"
import { filterCases } from "../support/filterCases.js"
import { python } from "./helpers.js"

type Clause = readonly [type: string, key: string, comparator: string, value: unknown]
type Verdict =
  | readonly ["parsed", ReadonlyArray<Clause>]
  | readonly ["rejected", string]
  | readonly ["store", number, string]

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/filters.py")

/** What MLflow 3.18 makes of each filter: its parser, then its SQL store on this project's backend. */
const mlflowJudges = (filters: ReadonlyArray<string>): Effect.Effect<Array<Verdict>> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-judge-"))
  const file = path.join(dir, "filters.json")
  fs.writeFileSync(file, JSON.stringify(filters))
  const backend = inject("mlflowBackend")
  const store = backend.startsWith("postgres:")
    ? { BACKEND_STORE_URI: databaseAt(Number(backend.slice("postgres:".length)), "filter-judge") }
    : {}
  return python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, { FILTERS: file, ...store }).pipe(
    Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  )
}

const TIME_KEYS = new Set(["timestamp_ms", "execution_time_ms", "end_time_ms"])

/**
 * Where we refuse what MLflow takes, on purpose: filters MLflow runs without meaning what they say.
 * Each applies to a single condition MLflow parsed.
 */
const deliberate: ReadonlyArray<{ readonly reason: string; readonly applies: (clause: Clause) => boolean }> = [
  {
    reason: "a time compared with quoted text that is not a whole number: MLflow's SQLite store compares it as " +
      "text, its PostgreSQL store fails on it",
    applies: ([type, key, , value]) =>
      type === "attribute" && TIME_KEYS.has(key) && typeof value === "string" && !/^[+-]?\d+$/.test(value)
  },
  {
    reason: "a list with a comparator other than IN and NOT IN on a span attribute: MLflow's store searches the " +
      "list's Python text as a pattern",
    applies: ([type, key, comparator, value]) =>
      type === "span" && key.startsWith("attributes.") && Array.isArray(value) && !comparator.endsWith("IN")
  },
  // refused on every backend because one of MLflow's stores fails on it: a filter means the same everywhere
  {
    reason: "a one-string list with a comparator other than IN and NOT IN: MLflow's PostgreSQL store compares " +
      "with the string, its SQLite store fails",
    applies: ([, , comparator, value]) => Array.isArray(value) && value.length === 1 && !comparator.endsWith("IN")
  },
  {
    reason: "an integer past 64 bits: MLflow's PostgreSQL store compares it, its SQLite store fails (500)",
    applies: ([, , , value]) => typeof value === "number" && Number.isInteger(value) && Math.abs(value) > 2 ** 63
  }
]

describe("search filters, MLflow 3.18 as the judge", () => {
  it.live(
    "accepts what MLflow accepts, refuses what it refuses or fails on, and means what it means",
    () =>
      Effect.gen(function*() {
        const cases = filterCases()
        const ours = cases.map((filter) => Effect.runSyncExit(F.parse(filter)))
        // our reading written back: MLflow must read it as it reads the original
        const rendered = ours.map((exit) =>
          Exit.isSuccess(exit) ? Effect.runSyncExit(F.renderEither(exit.value)) : undefined
        )
        const back = rendered.map((exit) => exit !== undefined && Exit.isSuccess(exit) ? exit.value : "")
        const verdicts = yield* mlflowJudges([...cases, ...back])
        const disagreements: Array<string> = []
        const deliberateCounts = deliberate.map(() => 0)
        let accepted = 0
        cases.forEach((filter, i) => {
          const verdict = verdicts[i]
          const mlflowAccepts = verdict[0] === "parsed"
          if (mlflowAccepts) accepted++
          const exit = ours[i]
          if (Exit.isSuccess(exit) !== mlflowAccepts) {
            const family = mlflowAccepts && verdict[1].length === 1
              ? deliberate.findIndex(({ applies }) => applies(verdict[1][0]))
              : -1
            if (family !== -1) deliberateCounts[family]++
            else {
              disagreements.push(
                `${JSON.stringify(filter)}: MLflow ${
                  mlflowAccepts ? "accepts" : `refuses (${verdict.slice(1).join(" ")})`
                }, ` +
                  `we ${Exit.isSuccess(exit) ? "accept" : `refuse (${String(exit.cause).split("\n")[0]})`}`
              )
            }
            return
          }
          if (!mlflowAccepts) return
          const written = rendered[i]!
          if (Exit.isFailure(written)) {
            disagreements.push(`${JSON.stringify(filter)}: accepted, but our reading cannot be written back`)
            return
          }
          const again = verdicts[cases.length + i]
          if (JSON.stringify(again) !== JSON.stringify(verdict)) {
            disagreements.push(
              `${JSON.stringify(filter)}: MLflow reads ${JSON.stringify(verdict[1])}, our reading ` +
                `${JSON.stringify(written.value)} it reads ${JSON.stringify(again.slice(1))}`
            )
          }
        })
        // eslint-disable-next-line no-console -- the case counts, printed for the record of each run
        console.log(
          `filter cases (${inject("mlflowBackend")} store): ${cases.length}, MLflow accepts ${accepted}; ` +
            `deliberate differences: ${
              deliberate.map(({ reason }, i) => `${deliberateCounts[i]} (${reason})`).join("; ")
            }`
        )
        assert.deepStrictEqual(disagreements.slice(0, 40), [], `${disagreements.length} disagreements`)
        // the sample exercises both outcomes and every family of MLflow's rules
        assert.isAbove(accepted, cases.length / 10)
        assert.isBelow(accepted, cases.length / 2)
      }),
    600_000
  )
})
