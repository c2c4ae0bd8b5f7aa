import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Json } from "../../src/internal/common/json.js"
import { translateSpans } from "../../src/internal/format/genAi.js"
import type { SpanData } from "../../src/Trace.js"
import { python } from "./helpers.js"

/**
 * MLflow's own GenAI semantic-convention translator (`translate_span_to_genai`, what its OTLP export
 * runs with `MLFLOW_ENABLE_OTEL_GENAI_SEMCONV=true`) as the judge of ours, over hand-picked and
 * generated spans: the same name, kind and attributes for every case.
 */

interface Case {
  readonly name: string
  readonly kind: SpanData["kind"]
  readonly attributes: Readonly<Record<string, Json>>
}

/** a small deterministic generator, so that a failing case comes back on the next run */
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

const openAiInputs: ReadonlyArray<Json | undefined> = [
  undefined,
  { messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] },
  {
    messages: [{
      role: "user",
      content: [{ type: "text", text: "look" }, {
        type: "image_url",
        image_url: { url: "data:image/png;base64,AAAA" }
      }]
    }],
    temperature: 0.2,
    max_tokens: 100,
    stop: "END",
    top_p: 1
  },
  {
    messages: [
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", function: { name: "get", arguments: "{\"city\": \"Paris\"}" } }]
      },
      { role: "tool", tool_call_id: "c1", content: "sunny" }
    ],
    tools: [{ type: "function", function: { name: "get", parameters: {} } }]
  },
  { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { format: "wav", data: "UklG" } }] }] },
  { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "UklG" } }] }] },
  { messages: [{ role: "user", content: [{ type: "text" }] }] },
  { messages: [{ content: { nested: true } }, { role: "user", content: 5 }, { role: null }] },
  { messages: "not a list" },
  { messages: ["not a dict"] },
  { messages: [{ role: "assistant", tool_calls: "abc" }] },
  { messages: [{ role: "assistant", tool_calls: [{ function: null }] }] },
  { messages: [{ role: "assistant", tool_calls: [{ id: 3, function: { name: "n", arguments: "not json" } }] }] },
  { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }, "plain", 7] }] },
  { input: "responses-style" },
  {
    instructions: "be terse",
    input: [
      { role: "user", content: [{ type: "input_text", text: "hi" }, { type: "input_image", image_url: "https://i" }] },
      { type: "function_call", call_id: "c", name: "f", arguments: "{\"x\": 1}" },
      { type: "function_call_output", call_id: "c", output: "done" }
    ],
    tools: [{ type: "function", name: "f" }]
  },
  { input: [{ type: "function_call", name: "missing call id" }] },
  { input: 5, instructions: 3 },
  { tools: [{ name: "flat", type: "function" }, { type: "web_search" }], temperature: null },
  ["a", "list"],
  "just text",
  42,
  { question: "a RAG input" },
  {
    messages: [{ role: "system", content: [{ type: "text", text: "sys" }] }, {
      role: "assistant",
      content: "",
      audio: { transcript: "spoken" }
    }]
  }
]

const openAiOutputs: ReadonlyArray<Json | undefined> = [
  undefined,
  {
    id: "chatcmpl-1",
    model: "gpt-4o-2024",
    choices: [{ message: { role: "assistant", content: "hello" }, finish_reason: "stop" }]
  },
  { choices: [{ delta: { content: "part" } }, { message: null, finish_reason: "length" }] },
  {
    choices: [{
      message: { role: "assistant", tool_calls: [{ id: "t", function: { name: "f" } }] },
      finish_reason: "tool_calls"
    }]
  },
  { choices: "nope" },
  { choices: ["nope"] },
  { id: "", model: 0 },
  "text output",
  ["x"],
  { answer: "because" },
  {
    id: "resp_1",
    status: "completed",
    output: [
      {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "ok" }, { type: "refusal", refusal: "no" }]
      },
      { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
      { type: "reasoning", summary: [] }
    ]
  },
  { output: "not a list", status: "" }
]

const anthropicInputs: ReadonlyArray<Json | undefined> = [
  { system: "be kind", messages: [{ role: "user", content: "hi" }], max_tokens: 64, stop_sequences: "STOP" },
  {
    system: [{ type: "text", text: "s1" }, { type: "other" }],
    messages: [{
      role: "user",
      content: [{ type: "text", text: "q" }, {
        type: "image",
        source: { type: "base64", media_type: "image/png", data: "AA" }
      }]
    }]
  },
  {
    messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "u1", content: "42" }] }],
    tools: [{ name: "calc" }]
  },
  {
    messages: [{
      role: "user",
      content: [{ type: "document", source: { type: "url", url: "https://d" } }, { type: "image", source: {} }]
    }]
  },
  {
    messages: [{ role: "user", content: 3 }, { content: [{ type: "tool_use", id: "x", name: "n", input: { a: 1 } }] }]
  },
  { messages: [{ role: "user", content: [{ text: "no type" }] }] },
  { messages: "bad" },
  ["bad"]
]

const anthropicOutputs: ReadonlyArray<Json | undefined> = [
  {
    id: "msg_1",
    model: "claude",
    role: "assistant",
    content: [{ type: "text", text: "yo" }, { type: "tool_use", id: "t", name: "f", input: {} }]
  },
  { content: "not a list" },
  { content: [{ type: "thinking", thinking: "hm" }] },
  undefined
]

const pick = <A>(next: () => number, items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]

const generated = (count: number): Array<Case> => {
  const next = random(20261203)
  const cases: Array<Case> = []
  for (let i = 0; i < count; i++) {
    const format = pick(next, ["openai", "anthropic", undefined, "custom-format"] as const)
    const inputs = pick(next, format === "anthropic" ? anthropicInputs : openAiInputs)
    const outputs = pick(next, format === "anthropic" ? anthropicOutputs : openAiOutputs)
    const spanType = pick(
      next,
      [
        "CHAT_MODEL",
        "LLM",
        "EMBEDDING",
        "TOOL",
        "AGENT",
        "RETRIEVER",
        "UNKNOWN",
        "",
        undefined,
        5,
        ["x"],
        "custom"
      ] as const
    )
    const attributes: Record<string, Json> = {
      "app.kept": "yes",
      "mlflow.spanFunctionName": "f",
      "mlflow.traceTag.team": "a"
    }
    if (format !== undefined) attributes["mlflow.message.format"] = format
    if (inputs !== undefined) attributes["mlflow.spanInputs"] = inputs
    if (outputs !== undefined) attributes["mlflow.spanOutputs"] = outputs
    if (spanType !== undefined) attributes["mlflow.spanType"] = spanType as Json
    const model = pick(next, ["gpt-4o", "", undefined, undefined, 7] as const)
    if (model !== undefined) attributes["mlflow.llm.model"] = model
    const provider = pick(next, ["openai", undefined, ""] as const)
    if (provider !== undefined) attributes["mlflow.llm.provider"] = provider
    const usage = pick(
      next,
      [undefined, { input_tokens: 3, output_tokens: 4, total_tokens: 7 }, { input_tokens: null }, "12"] as const
    )
    if (usage !== undefined) attributes["mlflow.chat.tokenUsage"] = usage as Json
    const tools = pick(next, [undefined, [{ type: "function", function: { name: "t" } }], "", "[\"as text\"]"] as const)
    if (tools !== undefined) attributes["mlflow.chat.tools"] = tools as Json
    const toolName = pick(next, [undefined, undefined, "named_tool", "", 12] as const)
    if (toolName !== undefined) attributes[spanType === "AGENT" ? "gen_ai.agent.name" : "gen_ai.tool.name"] = toolName
    const name = pick(next, ["my span", "execute_tool", "invoke_agent", ""])
    cases.push({ name, kind: pick(next, ["internal", "server", "client"] as const), attributes })
  }
  return cases
}

const handPicked: Array<Case> = [
  {
    name: "chat",
    kind: "internal",
    attributes: {
      "mlflow.spanType": "CHAT_MODEL",
      "mlflow.llm.model": "gpt-4o",
      "mlflow.message.format": "openai",
      "mlflow.spanInputs": openAiInputs[1]!,
      "mlflow.spanOutputs": openAiOutputs[1]!
    }
  },
  {
    name: "get_weather",
    kind: "internal",
    attributes: { "mlflow.spanType": "TOOL", "mlflow.spanInputs": { city: "Paris" }, "mlflow.spanOutputs": "sunny" }
  },
  { name: "planner", kind: "server", attributes: { "mlflow.spanType": "AGENT" } },
  {
    name: "embed",
    kind: "internal",
    attributes: { "mlflow.spanType": "EMBEDDING", "mlflow.llm.model": "text-embedding-3" }
  },
  {
    name: "no genai",
    kind: "internal",
    attributes: { "mlflow.spanType": "RETRIEVER", "mlflow.spanInputs": "q", "other": 1 }
  },
  { name: "untyped", kind: "internal", attributes: { "mlflow.spanInputs": { a: 1 }, "mlflow.traceTag.x": "y" } },
  {
    name: "unicode",
    kind: "internal",
    attributes: {
      "mlflow.spanType": "CHAT_MODEL",
      "mlflow.spanInputs": { messages: [{ role: "user", content: "héllo 👋" }] }
    }
  }
]

/** JSON-text values are compared decoded (MLflow escapes non-ASCII text, we do not) */
const normalize = (attributes: Readonly<Record<string, unknown>>) =>
  Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => {
      if (typeof value === "string" && key.startsWith("gen_ai.") && /^[[{"]/.test(value)) {
        try {
          return [key, { json: JSON.parse(value) }]
        } catch {
          return [key, value]
        }
      }
      return [key, value]
    })
  )

const judge = (cases: ReadonlyArray<Case>) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "genai-")), "cases.json")
  fs.writeFileSync(file, JSON.stringify(cases))
  return python(`
import json
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from mlflow.tracing.export.genai_semconv.translator import _get_tool_or_agent_name, translate_span_to_genai
cases = json.load(open(${JSON.stringify(file)}))
out = []
for case in cases:
    stored = {k: json.dumps(v) for k, v in case["attributes"].items()}
    span = ReadableSpan(
        name=case["name"],
        context=SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(1)),
        attributes=stored, kind=SpanKind[case["kind"].upper()], start_time=1, end_time=2)
    failed = False
    try:
        translated = translate_span_to_genai(span)
    except Exception:
        translated = span  # as its OTLP span processor does
        failed = True
    span_type = case["attributes"].get("mlflow.spanType")
    # the names MLflow writes itself (from the stored text, which may equal it)
    named = None
    if failed:
        pass
    elif span_type == "TOOL" and _get_tool_or_agent_name(span, "gen_ai.tool.name", "execute_tool") is not None:
        named = "gen_ai.tool.name"
    if not failed and span_type == "AGENT" and _get_tool_or_agent_name(span, "gen_ai.agent.name", "invoke_agent") is not None:
        named = "gen_ai.agent.name"
    attributes = {}
    for k, v in (translated.attributes or {}).items():
        # a value passed through is MLflow's stored JSON text: decoded, as ours are kept
        passed = k in stored and stored[k] == v and k != named
        attributes[k] = json.loads(v) if passed else (list(v) if isinstance(v, tuple) else v)
    # MLflow names a span with a numeric operation by the number itself; ours are text
    out.append({"name": str(translated.name), "kind": translated.kind.name.lower(), "attributes": attributes})
print(json.dumps(out))
`)
}

const ours = (cases: ReadonlyArray<Case>) =>
  translateSpans(cases.map((c, i): SpanData => ({
    traceId: "0".repeat(31) + "1",
    spanId: i.toString(16).padStart(16, "0"),
    parentSpanId: null,
    name: c.name,
    kind: c.kind,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    attributes: c.attributes,
    events: [],
    status: { code: "OK" }
  } as unknown as SpanData)))

describe("GenAI semantic conventions, judged by MLflow's translator", () => {
  it.live("agree with MLflow 3.18 on every hand-picked and generated span", () =>
    Effect.gen(function*() {
      const cases = [...handPicked, ...generated(600)]
      const expected: Array<any> = yield* judge(cases)
      const actual = ours(cases)
      const disagreements = cases.flatMap((c, i) => {
        const mine = { name: actual[i].name, kind: actual[i].kind, attributes: normalize(actual[i].attributes) }
        const theirs = { name: expected[i].name, kind: expected[i].kind, attributes: normalize(expected[i].attributes) }
        return isEqual(mine, theirs) ? [] : [{ case: c, mine, theirs }]
      })
      expect(disagreements.slice(0, 1)).toEqual([])
      expect(disagreements).toHaveLength(0)
      expect(cases.length).toBe(handPicked.length + 600)
      // the cases reach every branch that matters: messages written, and spans left as they were
      expect(expected.filter((e) => "gen_ai.input.messages" in e.attributes).length).toBeGreaterThan(50)
      expect(expected.filter((e) => "mlflow.spanType" in e.attributes).length).toBeGreaterThan(5)
    }))
})

const isEqual = (a: unknown, b: unknown): boolean => {
  try {
    expect(a).toEqual(b)
    return true
  } catch {
    return false
  }
}
