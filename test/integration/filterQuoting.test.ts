import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SearchFilter as F } from "../../src/index.js"
import { python } from "./helpers.js"

/** MLflow's own parser as the judge: each filter's clauses as `[key, value]`, or `null` if it rejects it. */
const mlflowParses = (filters: ReadonlyArray<string>): Effect.Effect<Array<Array<[string, unknown]> | null>> => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-filters-")), "filters.json")
  fs.writeFileSync(file, JSON.stringify(filters))
  return python(
    `
import json, os
from mlflow.utils.search_utils import SearchTraceUtils
out = []
for f in json.load(open(os.environ["FILTERS"], encoding="utf-8")):
    try:
        out.append([[c["key"], list(c["value"]) if isinstance(c["value"], tuple) else c["value"]]
                    for c in SearchTraceUtils.parse_search_filter_for_search_traces(f)])
    except Exception:
        out.append(None)
print(json.dumps(out))
`,
    { FILTERS: file }
  ).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }))))
}

const hostileText = fc.oneof(
  fc.string({ unit: fc.constantFrom("'", "\"", "\\", "a", " ", "%", "`", "(", ")", ",", "=") }),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" })
)

describe("SearchFilter quoting, judged by MLflow's parser", () => {
  it.live("renders every value so that MLflow reads back exactly that value, and refuses only what MLflow cannot hold", () =>
    Effect.gen(function*() {
      const values = fc.sample(hostileText, { numRuns: 400, seed: 20261201 })
      values.push("alice\\", "a\\'b", "it's", "say \"hi\"", "both ' and \"", "x' OR tags.y = 'z", "\\", "''", "")
      const lists = fc.sample(fc.array(hostileText, { minLength: 1, maxLength: 3 }), { numRuns: 100, seed: 7 })
      const rendered = values.map((value) =>
        Effect.runSyncExit(F.renderEither(F.and(F.tag("k").eq(value), F.tag("next").eq("n"))))
      )
      const renderedLists = lists.map((list) => Effect.runSyncExit(F.renderEither(F.and(F.requestId.in(list)))))
      // for refused values: neither quote kind would have been read back by MLflow
      const bare = values.flatMap((
        value
      ) => [`tags.k = '${value}' AND tags.next = 'n'`, `tags.k = "${value}" AND tags.next = "n"`])
      const judged = yield* mlflowParses([
        ...rendered.map((exit) => Exit.isSuccess(exit) ? exit.value : ""),
        ...renderedLists.map((exit) => Exit.isSuccess(exit) ? exit.value : ""),
        ...bare
      ])
      let refused = 0
      values.forEach((value, i) => {
        const exit = rendered[i]
        if (Exit.isSuccess(exit)) {
          assert.deepStrictEqual(judged[i], [["k", value], ["next", "n"]], `rendered ${JSON.stringify(exit.value)}`)
        } else {
          refused++
          for (
            const quoted of [
              judged[values.length + lists.length + 2 * i],
              judged[values.length + lists.length + 2 * i + 1]
            ]
          ) {
            assert.notDeepEqual(
              quoted,
              [["k", value], ["next", "n"]],
              `refused ${JSON.stringify(value)}, which MLflow can hold`
            )
          }
        }
      })
      lists.forEach((list, i) => {
        const exit = renderedLists[i]
        if (Exit.isSuccess(exit)) assert.deepStrictEqual(judged[values.length + i], [["request_id", list]])
      })
      // the sample must exercise both outcomes
      assert.isAbove(refused, 0)
      assert.isBelow(refused, values.length / 2)
    }))
})
