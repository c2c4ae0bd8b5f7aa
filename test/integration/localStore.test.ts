import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Mlflow } from "../../src/index.js"
import { python, runTraced } from "./helpers.js"

describe("local store (no tracking server)", () => {
  it.live("writes one Trace.to_json() file per trace that mlflow.entities.Trace.from_json reads", () =>
    Effect.gen(function*() {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-local-"))
      const program = Effect.gen(function*() {
        yield* Mlflow.updateCurrentTrace({ tags: { local: "yes" }, sessionId: "s" })
        yield* Mlflow.setTokenUsage({ input_tokens: 2, output_tokens: 5 }).pipe(Mlflow.span("llm", { spanType: "LLM" }))
        yield* Effect.log("unicode: héllo ✓")
        return { answer: 42n, text: "naïve ✓" }
      }).pipe(Mlflow.span("job", { spanType: "TASK", inputs: { q: "ünïcode" } }))
      const a = yield* runTraced(program, { localDirectory: directory })
      const b = yield* runTraced(program, { trackingUri: `file:${directory}` })

      const files = fs.readdirSync(directory).sort()
      expect(files).toEqual([`${a.traceId}.json`, `${b.traceId}.json`].sort())
      const read = yield* python(`
import json, glob, sys
from mlflow.entities import Trace
out = []
for f in sorted(glob.glob(${JSON.stringify(directory)} + "/*.json")):
    t = Trace.from_json(open(f, encoding="utf-8").read())
    out.append({"id": t.info.trace_id, "state": t.info.state.value, "tags": t.info.tags,
                "usage": t.info.token_usage, "session": t.info.trace_metadata.get("mlflow.trace.session"),
                "spans": [{"name": s.name, "type": s.span_type, "inputs": s.inputs, "outputs": s.outputs,
                           "parent": s.parent_id, "id": s.span_id, "start": s.start_time_ns, "end": s.end_time_ns,
                           "events": [e.name for e in s.events]} for s in t.data.spans]})
print(json.dumps(out))
`)
      expect(read.map((t: any) => t.id).sort()).toEqual([a.traceId, b.traceId].sort())
      for (const trace of read) {
        expect(trace.state).toBe("OK")
        expect(trace.tags).toMatchObject({ local: "yes", "mlflow.traceName": "job" })
        expect(trace.session).toBe("s")
        expect(trace.usage).toEqual({ input_tokens: 2, output_tokens: 5, total_tokens: 7 })
        const [job, llm] = trace.spans
        expect(job).toMatchObject({
          name: "job",
          type: "TASK",
          inputs: { q: "ünïcode" },
          outputs: { answer: "42", text: "naïve ✓" },
          parent: null,
          events: ["unicode: héllo ✓"]
        })
        expect(llm).toMatchObject({ name: "llm", type: "LLM", parent: job.id })
        expect(job.end).toBeGreaterThanOrEqual(job.start)
        expect(job.start).toBeGreaterThan(1.7e18)
      }
    }))
})
