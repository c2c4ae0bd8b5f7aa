import { assert, describe, it } from "@effect/vitest"
import { Effect, Encoding } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Json } from "../../src/internal/common/json.js"
import { extractFromValue } from "../../src/internal/prepare/attachments.js"
import { type AttachmentCase, attachmentCases } from "../support/attachmentCases.js"
import { python } from "./helpers.js"

interface Extracted {
  readonly value: unknown
  readonly attachments: ReadonlyArray<{ readonly contentType: string; readonly bytes: string }>
}

const JUDGE = path.resolve(import.meta.dirname, "../support/judges/attachments.py")

const mlflowExtracts = (cases: ReadonlyArray<AttachmentCase>): Effect.Effect<Array<Extracted>> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-judge-"))
  const file = path.join(dir, "cases.json")
  fs.writeFileSync(file, JSON.stringify(cases))
  return python(`exec(open(${JSON.stringify(JUDGE)}, encoding="utf-8").read())`, {
    CASES: file,
    MLFLOW_TRACKING_URI: `sqlite:///${path.join(dir, "judge.db")}`
  }).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))))
}

const ourExtraction = (c: AttachmentCase): Extracted => {
  let n = 0
  const { attachments, value } = extractFromValue(c.value as Json, "TRACE", {
    maxSize: c.maxSize,
    newId: () => `#${n++}`
  })
  return {
    value,
    attachments: attachments.map((a) => ({ contentType: a.contentType, bytes: Encoding.encodeBase64(a.content()) }))
  }
}

describe("attachment extraction, MLflow 3.18's LiveSpan as the judge", () => {
  it.live("inline content of span inputs becomes the attachments MLflow makes of it, on every case", () =>
    Effect.gen(function*() {
      const cases = attachmentCases()
      const theirs = yield* mlflowExtracts(cases)
      const disagreements: Array<string> = []
      let extracted = 0
      cases.forEach((c, i) => {
        const ours = ourExtraction(c)
        if (theirs[i].attachments.length > 0) extracted++
        if (JSON.stringify(ours) !== JSON.stringify(theirs[i])) {
          disagreements.push(
            `${JSON.stringify(c).slice(0, 200)}: MLflow ${JSON.stringify(theirs[i]).slice(0, 300)}, ours ${
              JSON.stringify(ours).slice(0, 300)
            }`
          )
        }
      })
      // eslint-disable-next-line no-console -- the case counts, printed for the record of each run
      console.log(`attachment cases: ${cases.length}, ${extracted} with content MLflow moves into attachments`)
      assert.deepStrictEqual(disagreements.slice(0, 20), [], `${disagreements.length} disagreements`)
      assert.isAbove(extracted, 300)
    }))
})
