import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { traceToJson } from "../../src/internal/format/traceJson.js"
import type { SpanData, Trace } from "../../src/Trace.js"
import { HOSTILE, hostileTrace, UNPRINTABLE_BUT_NEWLINE, withoutColours } from "../support/hostileTrace.js"
import { cli, root } from "../support/spawn.js"
import { freePort, mlflowUrl, postJson, python, uniqueName } from "./helpers.js"

const T0 = 1_700_000_000_000

const span = (
  traceHex: string,
  spanHex: string,
  parent: string | null,
  name: string,
  [start, end]: readonly [number, number],
  attributes: SpanData["attributes"],
  status: SpanData["status"] = { code: "OK", message: "" }
): SpanData => ({
  traceId: traceHex,
  spanId: spanHex,
  parentSpanId: parent,
  name,
  kind: "internal",
  startTimeUnixNano: BigInt(T0 + start) * 1_000_000n,
  endTimeUnixNano: BigInt(T0 + end) * 1_000_000n,
  status,
  attributes,
  events: []
})

/** A RAG-shaped trace: a chain with a retriever and a chat model that failed, with token usage. */
const ragTrace = (traceHex: string, offsetMs = 0): Trace => ({
  info: {
    traceId: `tr-${traceHex}`,
    clientRequestId: undefined,
    experimentId: "0",
    requestTimeMs: T0 + offsetMs,
    executionDurationMs: 1200,
    state: "ERROR",
    requestPreview: "{\"question\": \"why is the sky blue?\"}",
    responsePreview: "null",
    tags: { "mlflow.traceName": "answer" },
    metadata: { "mlflow.trace_schema.version": "3" }
  },
  spans: [
    span(traceHex, "00000000000000aa", null, "answer", [0, 1200], { "mlflow.spanType": "CHAIN" }, {
      code: "ERROR",
      message: "the model failed"
    }),
    span(traceHex, "00000000000000bb", "00000000000000aa", "retrieve", [0, 300], { "mlflow.spanType": "RETRIEVER" }),
    span(traceHex, "00000000000000cc", "00000000000000aa", "chat", [300, 1200], {
      "mlflow.spanType": "CHAT_MODEL",
      "mlflow.chat.tokenUsage": { input_tokens: 12, output_tokens: 30, total_tokens: 42 }
    }, { code: "ERROR", message: "rate limited" })
  ]
})

const hex = () => randomBytes(16).toString("hex")

/** A local store (the layout the library writes) holding these traces. */
const localStore = (traces: ReadonlyArray<Trace>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-cli-store-"))
  for (const trace of traces) fs.writeFileSync(path.join(dir, `${trace.info.traceId}.json`), traceToJson(trace))
  return dir
}

const storedTraces = (url: string, experimentId: string) =>
  python(
    `
import json, mlflow
traces = mlflow.search_traces(experiment_ids=[${JSON.stringify(experimentId)}], return_type="list", max_results=500)
print(json.dumps(sorted([[t.info.trace_id, len(t.data.spans), str(t.info.state)] for t in traces])))
`,
    { MLFLOW_TRACKING_URI: url }
  ) as Effect.Effect<Array<[string, number, string]>>

describe("the effect-mlflow command", () => {
  it.effect("explains itself: --help for the command and each subcommand", () =>
    Effect.gen(function*() {
      const top = yield* cli(["--help"])
      expect(top.code, top.stderr).toBe(0)
      for (const command of ["view", "push", "search"]) expect(top.stdout).toContain(command)
      const expected: Record<string, ReadonlyArray<string>> = {
        view: ["--last", "--server", "--dir", "--spool", "trace-id"],
        push: ["--tracking-uri", "--experiment-id", "--experiment-name", "idempotent"],
        search: ["--max-results", "--order-by", "filter"]
      }
      for (const [command, words] of Object.entries(expected)) {
        const help = yield* cli([command, "--help"])
        expect(help.code, help.stderr).toBe(0)
        for (const word of words) expect(help.stdout, `${command} --help`).toContain(word)
      }
    }), 120_000)

  it.effect(
    "view draws a stored trace as a tree with a waterfall; a missing one exits 1, bad usage 2",
    () =>
      Effect.gen(function*() {
        const id = "0123456789abcdef0123456789abcdef"
        const dir = localStore([ragTrace(id)])
        const file = path.relative(root, path.join(dir, `tr-${id}.json`))
        const shown = yield* cli(["view", "--dir", dir])
        expect(shown.code, shown.stderr).toBe(0)
        expect(shown.stdout).toBe(
          [
            `tr-${id}  ERROR  1.20 s  2023-11-14 22:13:20Z  3 spans  from ${file}`,
            "  SPAN         TYPE         DURATION  STATUS  TOKENS    |timeline                        |",
            "  answer       CHAIN          1.20 s  ERROR             |████████████████████████████████|",
            "  ├─ retrieve  RETRIEVER      300 ms  OK                |████████                        |",
            "  └─ chat      CHAT_MODEL     900 ms  ERROR   12/30/42  |        ████████████████████████|",
            "  answer: the model failed",
            "  chat: rate limited",
            ""
          ].join("\n")
        )
        // by id, with or without the tr- prefix
        const byId = yield* cli(["view", id, "--dir", dir])
        expect(byId.code, byId.stderr).toBe(0)
        expect(byId.stdout).toBe(shown.stdout)

        const missing = yield* cli(["view", "tr-ffff", "--dir", dir])
        expect(missing.code).toBe(1)
        expect(missing.stderr).toContain("trace tr-ffff is not in")
        const empty = yield* cli(["view", "--dir", fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-cli-none-"))])
        expect(empty.code).toBe(1)
        expect(empty.stderr).toContain("no traces in")

        const badCount = yield* cli(["view", "--last", "0", "--dir", dir])
        expect(badCount.code).toBe(2)
        expect(badCount.stderr).toContain("--last expects a number of 1 or more")
        const unknownFlag = yield* cli(["view", "--no-such-flag"])
        expect(unknownFlag.code).toBe(2)
        expect(unknownFlag.stderr).toContain("unknown option --no-such-flag")
      }),
    120_000
  )

  it.effect(
    "push stores local-store traces on the real server once; search and view --server read them back",
    () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const { experiment_id: experimentId } = yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, {
          name: uniqueName("cli")
        })
        const traces = [ragTrace(hex(), 0), ragTrace(hex(), 1000), ragTrace(hex(), 2000)]
        const dir = localStore(traces)
        const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_ID: experimentId, EFFECT_MLFLOW_LOCAL_DIR: dir }
        const ids = traces.map((trace) => trace.info.traceId).sort()

        const first = yield* cli(["push"], env)
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout).toContain(`3 of 3 traces stored at ${url} (experiment ${experimentId}): 3 sent`)
        expect(yield* storedTraces(url, experimentId)).toEqual(ids.map((id) => [id, 3, "ERROR"]))
        // pushed files stay: the local store is the user's
        expect(fs.readdirSync(dir).sort()).toEqual(ids.map((id) => `${id}.json`))

        const second = yield* cli(["push"], env)
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toContain("3 of 3 traces stored")
        expect(second.stdout).toContain("0 sent, 3 already there, 0 refused")
        expect(yield* storedTraces(url, experimentId)).toEqual(ids.map((id) => [id, 3, "ERROR"]))

        const found = yield* cli(["search", "tag.mlflow.traceName = 'answer' AND execution_time_ms > 1000"], env)
        expect(found.code, found.stderr).toBe(0)
        const lines = found.stdout.trimEnd().split("\n")
        expect(lines[0].split(/\s{2,}/)).toEqual(["TRACE ID", "TIME (UTC)", "STATE", "DURATION", "NAME", "REQUEST"])
        // newest first, as the default order says
        expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(
          [...traces].reverse().map((trace) => trace.info.traceId)
        )
        expect(lines[1]).toContain("2023-11-14 22:13:22")
        expect(lines[1]).toContain("ERROR")
        expect(lines[1]).toContain("1.20 s")
        expect(lines[1]).toContain("{\"question\": \"why is the sky blue?\"}")
        const none = yield* cli(["search", "execution_time_ms > 5000"], env)
        expect(none.code, none.stderr).toBe(0)
        expect(none.stdout).toBe("")
        expect(none.stderr).toContain("no traces match")

        // the server's copy draws the same tree as the file did
        const local = yield* cli(["view", ids[0], "--dir", dir])
        const remote = yield* cli(["view", ids[0], "--server"], env)
        expect(remote.code, remote.stderr).toBe(0)
        const body = (text: string) => text.split("\n").slice(1).join("\n")
        expect(body(remote.stdout)).toBe(body(local.stdout))
        expect(remote.stdout.split("\n")[0]).toContain(`from ${url}`)
        const missing = yield* cli(["view", hex(), "--server"], env)
        expect(missing.code).toBe(1)
      }),
    180_000
  )

  it.effect(
    "wrong filters and settings exit 2 before any request; a server that is away exits 1",
    () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const env = { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_ID: "0" }
        const badFilter = yield* cli(["search", "tag.env = "], env)
        expect(badFilter.code).toBe(2)
        expect(badFilter.stderr).toContain("invalid filter")
        const badCount = yield* cli(["search", "", "--max-results", "501"], env)
        expect(badCount.code).toBe(2)
        // a filter past what MLflow's store takes, an order it refuses: one line each, exit 2
        const tooLong = yield* cli(["search", Array(1000).fill("attributes.status = 'OK'").join(" AND ")], env)
        expect(tooLong.code, tooLong.stderr).toBe(2)
        expect(tooLong.stderr.trimEnd().split("\n")).toEqual([
          "effect-mlflow: invalid filter: 1000 conditions; MLflow's SQLite store fails past 495 (its expression depth)"
        ])
        const badOrder = yield* cli(["search", "", "--order-by", "span.name DESC"], env)
        expect(badOrder.code, badOrder.stderr).toBe(2)
        expect(badOrder.stderr.trimEnd().split("\n")).toHaveLength(1)
        expect(badOrder.stderr).toContain("effect-mlflow: --order-by: invalid order \"span.name DESC\"")

        const noServer = yield* cli(["search", ""])
        expect(noServer.code).toBe(2)
        expect(noServer.stderr).toContain("search needs an MLflow tracking server")
        const badUri = yield* cli(["push"], { MLFLOW_TRACKING_URI: "ftp://example", MLFLOW_EXPERIMENT_ID: "0" })
        expect(badUri.code).toBe(2)

        const away = `http://user:hunter2@127.0.0.1:${yield* freePort}`
        const unreachable = yield* cli(["search", ""], { MLFLOW_TRACKING_URI: away, MLFLOW_EXPERIMENT_ID: "0" })
        expect(unreachable.code).toBe(1)
        expect(unreachable.stderr).toContain("effect-mlflow:")
        expect(unreachable.stderr).not.toContain("hunter2")
        const dir = localStore([ragTrace(hex())])
        const stopped = yield* cli(["push"], {
          MLFLOW_TRACKING_URI: away,
          MLFLOW_EXPERIMENT_ID: "0",
          EFFECT_MLFLOW_LOCAL_DIR: dir
        })
        expect(stopped.code).toBe(1)
        expect(stopped.stdout).toContain("0 of 1 traces stored")
        expect(stopped.stderr).toContain("run push again")
        expect(stopped.stderr + stopped.stdout).not.toContain("hunter2")
      }),
    180_000
  )

  it.effect(
    "text from traces, files and servers never reaches the terminal as a control sequence, colours on or off",
    () =>
      Effect.gen(function*() {
        const url = mlflowUrl()
        const { experiment_id: experimentId } = yield* postJson(`${url}/api/2.0/mlflow/experiments/create`, {
          name: uniqueName("cli-hostile")
        })
        const trace = hostileTrace(hex())
        const dir = localStore([trace])
        // a file whose name and text are hostile: skipped, and said so
        fs.writeFileSync(path.join(dir, `bad${HOSTILE.clear}${HOSTILE.overwrite}.json`), `{"info": "${HOSTILE.title}`)
        // a spool holding a trace for another destination, its address hostile
        const spool = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-cli-hostile-spool-"))
        fs.mkdirSync(path.join(spool, "0123456789abcdef"))
        fs.writeFileSync(
          path.join(spool, "0123456789abcdef", "destination.json"),
          JSON.stringify({ tracking_uri: `http://elsewhere${HOSTILE.clipboard}`, experiment: `id:1${HOSTILE.c1}` })
        )
        fs.writeFileSync(
          path.join(spool, "0123456789abcdef", `0000000000000001-${trace.info.traceId}.json`),
          traceToJson(trace)
        )
        const env = {
          MLFLOW_TRACKING_URI: url,
          MLFLOW_EXPERIMENT_ID: experimentId,
          EFFECT_MLFLOW_LOCAL_DIR: dir,
          EFFECT_MLFLOW_SPOOL_DIR: spool
        }
        const clean = (label: string, ran: { readonly stdout: string; readonly stderr: string }) => {
          for (const [stream, text] of [["stdout", ran.stdout], ["stderr", ran.stderr]] as const) {
            expect(UNPRINTABLE_BUT_NEWLINE.test(withoutColours(text)), `${label} ${stream}: ${JSON.stringify(text)}`)
              .toBe(false)
            // colours are the only escape sequences, and only when asked for
            expect(/\u001b/.test(withoutColours(text)), `${label} ${stream}`).toBe(false)
          }
        }
        const runs: Array<[string, ReadonlyArray<string>, Record<string, string>]> = [
          ["view", ["view", "--last", "5", "--dir", dir, "--spool", spool], {}],
          ["push", ["push"], env],
          ["view --server", ["view", trace.info.traceId, "--server"], env],
          ["search", ["search", `tags.env LIKE '%${HOSTILE.clear}%'`], env],
          ["a missing id", ["view", `tr-${HOSTILE.title}`, "--server"], env],
          // colours forced on (stdout is no terminal here)
          ["view", ["view", "--last", "5", "--dir", dir, "--spool", spool], { FORCE_COLOR: "1" }],
          ["view --server", ["view", trace.info.traceId, "--server"], { ...env, FORCE_COLOR: "1" }]
        ]
        for (const [label, args, extra] of runs) {
          const ran = yield* cli(args, extra)
          clean(`${label} ${JSON.stringify(extra)}`, ran)
          if (label === "view") {
            expect(ran.code, ran.stderr).toBe(0)
            // what was there is shown as escapes
            expect(ran.stdout).toContain("root\\x1b]0;owned\\x07\\x1b[2J")
            expect(ran.stderr).toContain("skipped")
            expect(ran.stderr).toContain("bad\\x1b[2J\\rOK")
          }
          if ("FORCE_COLOR" in extra) expect(ran.stdout).toContain("\u001b[31mERROR")
          if (label === "push") {
            expect(ran.code, ran.stderr).toBe(0)
            expect(ran.stdout).toContain("1 of 1 traces stored")
            expect(ran.stderr).toContain("http://elsewhere\\x1b]52;c;")
          }
          if (label === "view --server" || label === "search") {
            expect(ran.code, ran.stderr).toBe(0)
            expect(ran.stdout).toContain(trace.info.traceId)
          }
          if (label === "search") expect(ran.stdout).toContain("\\x1b]52;c;")
          if (label === "view --server") expect(ran.stdout).toContain("child\\rOK  all good")
          if (label === "a missing id") expect(ran.code).toBe(1)
        }
      }),
    600_000
  )
})
