import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { finalize } from "../../src/internal/prepare/finalize.js"
import { emptyUpdates } from "../../src/internal/tracing/assembler.js"
import { completedTrace } from "../support/completedTrace.js"
import { type FinalizeCase, finalizeCases } from "../support/finalizeCases.js"
import { spanData } from "../support/spanData.js"
import { python } from "./helpers.js"

interface Derived {
  readonly requestPreview: string | null
  readonly responsePreview: string | null
  readonly traceInputs: string
  readonly traceOutputs: string
  readonly tokenUsage: Record<string, number> | null
}

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/finalize.py")

const mlflowDerives = (cases: ReadonlyArray<FinalizeCase>): Effect.Effect<Array<Derived>> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-judge-"))
  const file = path.join(dir, "cases.json")
  fs.writeFileSync(file, JSON.stringify(cases))
  return python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, { CASES: file }).pipe(
    Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  )
}

const ourDerived = (c: FinalizeCase): Derived => {
  const spans = c.spans.map(([id, parent, usage], i) => {
    const attributes: Record<string, any> = {}
    if (i === 0 && "inputs" in c) attributes["mlflow.spanInputs"] = c.inputs
    if (i === 0 && "outputs" in c) attributes["mlflow.spanOutputs"] = c.outputs
    if (c.spans[i].length > 2) attributes["mlflow.chat.tokenUsage"] = usage
    return spanData(id, parent, attributes)
  })
  const updates = emptyUpdates()
  if (c.requestPreview !== undefined) updates.requestPreview = c.requestPreview
  if (c.responsePreview !== undefined) updates.responsePreview = c.responsePreview
  const { info } = finalize(completedTrace(spans, updates), {}, "1")
  const usage = info.metadata["mlflow.trace.tokenUsage"]
  return {
    requestPreview: info.requestPreview ?? null,
    responsePreview: info.responsePreview ?? null,
    traceInputs: info.metadata["mlflow.traceInputs"],
    traceOutputs: info.metadata["mlflow.traceOutputs"],
    tokenUsage: usage === undefined ? null : JSON.parse(usage)
  }
}

const codePoints = (text: string | null) => text === null ? 0 : [...text].length

describe("trace finalization, MLflow 3.18's client functions as the judge", () => {
  it.live("previews, mlflow.traceInputs/Outputs and token usage agree with MLflow's on every case", () =>
    Effect.gen(function*() {
      const cases = finalizeCases()
      const theirs = yield* mlflowDerives(cases)
      const disagreements: Array<string> = []
      let longPreviews = 0
      let withUsage = 0
      cases.forEach((c, i) => {
        const ours = ourDerived(c)
        const expected = { ...theirs[i] }
        if (expected.tokenUsage !== null) withUsage++
        for (const key of ["requestPreview", "responsePreview"] as const) {
          // on purpose: a preview set by hand past the server's 1000-character column is cut to it
          // (MLflow's client sends it whole; its SQLite store keeps it, its PostgreSQL store fails)
          if (c[key] !== undefined && codePoints(expected[key]) > 1000) {
            longPreviews++
            expected[key] = [...expected[key]!].slice(0, 997).join("") + "..."
          }
        }
        if (JSON.stringify(ours) !== JSON.stringify(expected)) {
          disagreements.push(
            `${JSON.stringify(c).slice(0, 200)}: MLflow ${JSON.stringify(expected).slice(0, 300)}, ours ${
              JSON.stringify(ours).slice(0, 300)
            }`
          )
        }
      })
      // eslint-disable-next-line no-console -- the case counts, printed for the record of each run
      console.log(
        `finalization cases: ${cases.length} (${withUsage} with token usage); deliberate differences: ` +
          `${longPreviews} previews set by hand past 1000 characters, cut to the server's column`
      )
      assert.deepStrictEqual(disagreements.slice(0, 20), [], `${disagreements.length} disagreements`)
      assert.isAbove(withUsage, 300)
    }))
})
