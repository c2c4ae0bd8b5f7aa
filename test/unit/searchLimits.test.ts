import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { SearchFilter as F } from "../../src/index.js"
import { checkOrderBy, filterTokens, MAX_CONDITIONS, MAX_JOINS } from "../../src/internal/client/searchLimits.js"

const conditions = (count: number, clause: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => clause(i)).join(" AND ")

const parses = (filter: string) => Exit.isSuccess(Effect.runSyncExit(F.parse(filter)))

describe("what MLflow's search takes", () => {
  it("counts tokens as MLflow's parser does for plain conditions", () => {
    // sqlparse: attributes . status ␠ = ␠ 'OK' → 7, and ␠ AND ␠ between conditions
    assert.strictEqual(filterTokens("attributes.status = 'OK'"), 7)
    assert.strictEqual(filterTokens(conditions(1001, () => "attributes.status = 'OK'")), 10_007)
    assert.strictEqual(filterTokens("tags.`a b` != 'x y'"), 7)
  })

  it("refuses filters past the conditions, joins and tokens MLflow takes", () => {
    assert.isTrue(parses(conditions(MAX_CONDITIONS, () => "span.name = 'a'")))
    assert.isFalse(parses(conditions(MAX_CONDITIONS + 1, () => "attributes.status = 'OK'")))
    assert.isFalse(parses(conditions(1000, () => "attributes.status = 'OK'")))
    assert.isTrue(parses(conditions(MAX_JOINS, (i) => `tags.k${i} = 'y'`)))
    assert.isFalse(parses(conditions(MAX_JOINS + 1, (i) => `tags.k${i} = 'y'`)))
    assert.isFalse(parses(conditions(MAX_JOINS + 1, (i) => `feedback.k${i} IS NOT NULL`)))
    // tested for presence, the trace name: no join
    assert.isTrue(parses(conditions(200, (i) => `tags.k${i} IS NULL`)))
    assert.isTrue(parses(conditions(200, (i) => `tags.mlflow.traceName = 'a${i}'`)))
    const longList = `attributes.status IN (${Array.from({ length: 4000 }, (_, i) => `'s${i}'`).join(", ")})`
    assert.isFalse(parses(longList))
    const exit = Effect.runSyncExit(F.parse(conditions(600, () => "attributes.status = 'OK'")))
    assert.isTrue(Exit.isFailure(exit))
    assert.include(String(exit), "600 conditions")
  })

  it("takes the orders MLflow takes and refuses the others, typed with a reason", () => {
    for (
      const order of [
        "timestamp_ms DESC",
        "timestamp",
        "name ASC",
        "run_id desc",
        "attributes.execution_time_ms",
        "trace.status",
        "tags.env",
        "tags.`my key` DESC",
        "metadata.mlflow.trace.session",
        "timestamp_ms\tDESC"
      ]
    ) assert.isUndefined(checkOrderBy([order]), order)
    const refused: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["timestamp_ms DESCENDING"], "Syntax"],
      [[""], "Syntax"],
      [[" timestamp_ms"], "Syntax"],
      [["timestamp_ms DESC, name"], "Syntax"],
      [["TIMESTAMP_MS"], "UnknownKey"],
      [["attr.status"], "UnknownKey"],
      [["span.name"], "UnknownKey"],
      [["feedback.x"], "UnknownKey"],
      [["metadata.mlflow.trace.tokenUsage"], "Reserved"],
      [["timestamp_ms DESC", "timestamp ASC"], "Duplicate"],
      [["name", "tags.mlflow.traceName"], "Duplicate"]
    ]
    for (const [order, reason] of refused) assert.strictEqual(checkOrderBy(order)?.reason, reason, order.join(" | "))
    assert.isUndefined(checkOrderBy(["tags.z"], MAX_JOINS - 1))
    assert.strictEqual(checkOrderBy(["tags.z"], MAX_JOINS)?.reason, "TooManyJoins")
    assert.isUndefined(checkOrderBy(["name"], MAX_JOINS))
  })
})
