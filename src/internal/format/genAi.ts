import type { SpanData } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"
import { anthropic } from "./genAi/anthropic.js"
import { openAiChat } from "./genAi/openAiChat.js"
import { openAiResponses } from "./genAi/openAiResponses.js"
import { type Attributes, type Converter, isObject, pyStr, truthy, Unconvertible } from "./genAi/shared.js"
import { dumps } from "./pythonJson.js"

/**
 * Spans in the OpenTelemetry GenAI semantic conventions, as MLflow 3.18's OTLP export writes them
 * with `MLFLOW_ENABLE_OTEL_GENAI_SEMCONV=true` (`mlflow/tracing/export/genai_semconv/`): the
 * operation from the span type, model, provider, token usage, tool and agent names, and for chat
 * spans in the OpenAI chat or Anthropic message format the messages, system instructions, request
 * parameters and response attributes; `mlflow.*` attributes are left out (trace tags kept), and the
 * span is renamed `{operation} {model or tool or agent}`. Where MLflow's conversion fails on a value,
 * it keeps what it had before the messages, and so does this.
 */
export const translateSpans = (spans: ReadonlyArray<SpanData>): ReadonlyArray<SpanData> => spans.map(translateSpan)

const OPERATION_OF: Readonly<Record<string, string>> = {
  CHAT_MODEL: "chat",
  LLM: "generate_content",
  EMBEDDING: "embeddings",
  TOOL: "execute_tool",
  AGENT: "invoke_agent"
}

const CLIENT_OPERATIONS = new Set(["chat", "text_completion", "embeddings", "generate_content"])
const INTERNAL_OPERATIONS = new Set(["execute_tool", "invoke_agent"])

const TAG_PREFIX = "mlflow.traceTag."

const translateSpan = (span: SpanData): SpanData => {
  const original = span.attributes
  const spanType = original[SpanAttributeKey.SPAN_TYPE]
  // MLflow looks the type up in a dict: a list or dict there makes it give up on the span
  if (typeof spanType === "object" && spanType !== null) return span
  const genAi = universal(span, spanType)
  const kept: Attributes = {}
  for (const key in original) {
    if (!key.startsWith("mlflow.") || key.startsWith(TAG_PREFIX)) kept[key] = original[key]
  }
  if (Object.keys(genAi).length === 0) return { ...span, attributes: kept }
  const inputs = original[SpanAttributeKey.INPUTS]
  const outputs = original[SpanAttributeKey.OUTPUTS]
  if (inputs !== undefined && inputs !== null || outputs !== undefined && outputs !== null) {
    // MLflow asks `"input" in inputs` of OpenAI-format spans, which raises for a number: it gives up
    if (
      original[SpanAttributeKey.MESSAGE_FORMAT] === "openai" &&
      (typeof inputs === "number" || typeof inputs === "boolean")
    ) {
      return span
    }
    const converter = converterFor(original[SpanAttributeKey.MESSAGE_FORMAT], inputs)
    if (converter !== undefined) {
      try {
        Object.assign(genAi, translateMessages(converter, inputs ?? null, outputs ?? null))
      } catch (error) {
        if (!(error instanceof Unconvertible)) throw error
      }
    }
  }
  if (!("gen_ai.tool.definitions" in genAi)) {
    const tools = original[SpanAttributeKey.CHAT_TOOLS]
    if (truthy(tools)) genAi["gen_ai.tool.definitions"] = typeof tools === "string" ? tools : dumps(tools!)
  }
  const operation = genAi["gen_ai.operation.name"]
  const target = [genAi["gen_ai.tool.name"], genAi["gen_ai.agent.name"], genAi["gen_ai.request.model"]].find(truthy)
  const name = truthy(operation) && target !== undefined
    ? `${pyStr(operation!)} ${pyStr(target)}`
    : truthy(operation)
    ? pyStr(operation!)
    : span.name
  const kind = typeof operation === "string" && CLIENT_OPERATIONS.has(operation)
    ? "client"
    : typeof operation === "string" && INTERNAL_OPERATIONS.has(operation)
    ? "internal"
    : span.kind
  return { ...span, name, kind, attributes: { ...kept, ...genAi } }
}

const universal = (span: SpanData, spanType: Json | undefined): Attributes => {
  const out: Attributes = {}
  const attributes = span.attributes
  if (truthy(spanType)) {
    out["gen_ai.operation.name"] = typeof spanType === "string" ? OPERATION_OF[spanType] ?? spanType : spanType!
  }
  const model = attributes[SpanAttributeKey.MODEL]
  if (truthy(model)) out["gen_ai.request.model"] = model!
  const provider = attributes[SpanAttributeKey.PROVIDER]
  if (truthy(provider)) out["gen_ai.provider.name"] = provider!
  const usage = attributes[SpanAttributeKey.CHAT_USAGE]
  if (isObject(usage)) {
    if (usage.input_tokens !== undefined && usage.input_tokens !== null) {
      out["gen_ai.usage.input_tokens"] = usage.input_tokens
    }
    if (usage.output_tokens !== undefined && usage.output_tokens !== null) {
      out["gen_ai.usage.output_tokens"] = usage.output_tokens
    }
  }
  if (spanType === "TOOL") {
    const tool = nameOf(span, "gen_ai.tool.name", "execute_tool")
    if (tool !== undefined) out["gen_ai.tool.name"] = tool
    const inputs = attributes[SpanAttributeKey.INPUTS]
    if (inputs !== undefined && inputs !== null) out["gen_ai.tool.call.arguments"] = dumps(inputs)
    const outputs = attributes[SpanAttributeKey.OUTPUTS]
    if (outputs !== undefined && outputs !== null) out["gen_ai.tool.call.result"] = dumps(outputs)
  }
  if (spanType === "AGENT") {
    const agent = nameOf(span, "gen_ai.agent.name", "invoke_agent")
    if (agent !== undefined) out["gen_ai.agent.name"] = agent
  }
  return out
}

/**
 * The tool or agent name: the attribute, else the span's name. MLflow reads the attribute as the
 * JSON text it stores (ours hold the decoded value): a string is itself, anything else its JSON text.
 */
const nameOf = (span: SpanData, key: string, operation: string): Json | undefined => {
  const name = span.attributes[key]
  if (name !== undefined) {
    if (typeof name !== "string") return dumps(name)
    if (name !== "") return name
  }
  return span.name !== "" && span.name !== operation ? span.name : undefined
}

const converterFor = (format: Json | undefined, inputs: Json | undefined): Converter | undefined => {
  switch (format) {
    case "anthropic":
      return anthropic
    case "openai":
      return hasInputKey(inputs) ? openAiResponses : openAiChat
    case "gemini":
    case "bedrock":
      return undefined
    default:
      return openAiChat
  }
}

/** Python's `"input" in inputs`: a dict's key, a list's item, a substring */
const hasInputKey = (inputs: Json | undefined): boolean =>
  isObject(inputs)
    ? Object.hasOwn(inputs, "input")
    : Array.isArray(inputs)
    ? inputs.includes("input")
    : typeof inputs === "string" && inputs.includes("input")

const translateMessages = (converter: Converter, inputs: Json, outputs: Json): Attributes => {
  const out: Attributes = {}
  if (inputs !== null) {
    const messages = converter.inputs(inputs)
    if (messages !== undefined) out["gen_ai.input.messages"] = dumps(messages)
    const system = converter.system(inputs)
    if (system !== undefined) out["gen_ai.system_instructions"] = dumps(system)
    Object.assign(out, converter.params(inputs))
  }
  if (outputs !== null) {
    const messages = converter.outputs(outputs)
    if (messages !== undefined) out["gen_ai.output.messages"] = dumps(messages)
    Object.assign(out, converter.response(outputs))
  }
  return out
}
