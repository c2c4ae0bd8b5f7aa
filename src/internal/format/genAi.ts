import type { SpanData } from "../../Trace.js"
import type { Json } from "../common/json.js"
import { SpanAttributeKey } from "../common/keys.js"
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

type Attributes = Record<string, Json>
type JsonObject = { readonly [key: string]: Json }

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

/** A value that fails where Python's conversion raises (a missing key, `.get` on a non-dict). */
class Unconvertible extends Error {}

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Python's truthiness of a JSON value */
const truthy = (value: Json | undefined): boolean =>
  value !== undefined && value !== null && value !== false && value !== 0 && value !== "" &&
  !(Array.isArray(value) && value.length === 0) && !(isObject(value) && Object.keys(value).length === 0)

/** `dict.get`: raises on anything that is not a dict */
const get = (value: Json | undefined, key: string): Json | undefined => {
  if (!isObject(value)) throw new Unconvertible()
  return Object.hasOwn(value, key) ? value[key] : undefined
}

/** `dict.get(key, fallback)`: the fallback only when the key is missing (a `null` stays) */
const getOr = (value: Json | undefined, key: string, fallback: Json): Json =>
  get(value, key) ?? (isObject(value) && Object.hasOwn(value, key) ? null : fallback)

/** `dict[key]`: raises when the key is missing */
const at = (value: Json | undefined, key: string): Json => {
  const found = get(value, key)
  if (found === undefined) throw new Unconvertible()
  return found
}

/** `for item in value`: a string's characters, a dict's keys, a list's items; raises otherwise */
const iterate = (value: Json | undefined): ReadonlyArray<Json> => {
  if (Array.isArray(value)) return value
  if (typeof value === "string") return [...value]
  if (isObject(value)) return Object.keys(value)
  throw new Unconvertible()
}

/** Python's `str()` of a JSON value */
const pyStr = (value: Json): string => typeof value === "string" ? value : pyRepr(value)

const pyRepr = (value: Json): string => {
  if (value === null) return "None"
  switch (typeof value) {
    case "boolean":
      return value ? "True" : "False"
    case "number":
      return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloat(value)
    case "string":
      return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`
  return `{${Object.entries(value as JsonObject).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`
}

const pythonFloat = (value: number): string => {
  if (Number.isNaN(value)) return "nan"
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf"
  return dumps(value)
}

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

interface Converter {
  readonly inputs: (inputs: Json) => Json | undefined
  readonly system: (inputs: Json) => Json | undefined
  readonly outputs: (outputs: Json) => Json | undefined
  readonly params: (inputs: Json) => Attributes
  readonly response: (outputs: Json) => Attributes
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

const REQUEST_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ["temperature", "gen_ai.request.temperature"],
  ["max_tokens", "gen_ai.request.max_tokens"],
  ["top_p", "gen_ai.request.top_p"],
  ["stop", "gen_ai.request.stop_sequences"],
  ["tools", "gen_ai.tool.definitions"]
]

const baseParams = (inputs: Json): Attributes => {
  const out: Attributes = {}
  for (const [source, key] of REQUEST_PARAMS) {
    const value = get(inputs, source)
    if (value === undefined || value === null) continue
    out[key] = key === "gen_ai.tool.definitions"
      ? dumps(value)
      : key === "gen_ai.request.stop_sequences" && typeof value === "string"
      ? [value]
      : value
  }
  return out
}

const baseResponse = (outputs: Json): Attributes => {
  const out: Attributes = {}
  const id = get(outputs, "id")
  if (truthy(id)) out["gen_ai.response.id"] = id!
  const model = get(outputs, "model")
  if (truthy(model)) out["gen_ai.response.model"] = model!
  return out
}

const text = (content: Json): Json => ({ type: "text", content })

// OpenAI chat completions (also MLflow's choice for spans of no known format)

const openAiContent = (content: Json | undefined): Array<Json> => {
  if (typeof content === "string") return [text(content)]
  if (Array.isArray(content)) {
    return content.map((item) => {
      const type = isObject(item) ? get(item, "type") : undefined
      if (type === "text" || type === "input_text") return text(at(item, "text"))
      if (type === "image_url") return imageUrl(at(at(item, "image_url"), "url"))
      if (type === "input_image") return imageUrl(at(item, "image_url"))
      if (type === "input_audio") {
        const audio = at(item, "input_audio")
        return {
          type: "blob",
          modality: "audio",
          mime_type: `audio/${pyStr(at(audio, "format"))}`,
          content: at(audio, "data")
        }
      }
      return text(dumps(item))
    })
  }
  return content === undefined || content === null ? [] : [text(pyStr(content))]
}

const imageUrl = (url: Json): Json => {
  if (typeof url !== "string") throw new Unconvertible()
  if (!url.startsWith("data:")) return { type: "uri", modality: "image", uri: url }
  const comma = url.indexOf(",")
  const header = comma < 0 ? url : url.slice(0, comma)
  const data = comma < 0 ? "" : url.slice(comma + 1)
  const mime = header.slice("data:".length)
  return {
    type: "blob",
    modality: "image",
    mime_type: mime.endsWith(";base64") ? mime.slice(0, -";base64".length) : mime,
    content: data
  }
}

const toolArguments = (args: Json): Json => {
  if (typeof args !== "string") return args
  try {
    return JSON.parse(args) as Json
  } catch {
    return args
  }
}

const openAiMessage = (message: Json): { [key: string]: Json } => {
  const role = getOr(message, "role", "user")
  let parts = openAiContent(get(message, "content"))
  if (parts.length === 0) {
    const audio = get(message, "audio")
    if (isObject(audio) && typeof audio.transcript === "string") parts = [text(audio.transcript)]
  }
  const toolCalls = get(message, "tool_calls")
  if (truthy(toolCalls)) {
    for (const call of iterate(toolCalls)) {
      const fn = getOr(call, "function", {})
      parts.push({
        type: "tool_call",
        id: get(call, "id") ?? null,
        name: get(fn, "name") ?? null,
        arguments: toolArguments(getOr(fn, "arguments", "{}"))
      })
    }
  }
  const toolCallId = get(message, "tool_call_id")
  if (truthy(toolCallId)) {
    const response = parts.length === 0 ? null : get(parts[0], "content") ?? null
    return { role, parts: [{ type: "tool_call_response", id: toolCallId!, response }] }
  }
  return { role, parts }
}

const flattenTools = (tools: Json): string =>
  dumps(
    iterate(tools).map((tool) => {
      const flat: { [key: string]: Json } = { type: getOr(tool, "type", "function") }
      const fn = get(tool, "function")
      if (truthy(fn)) {
        if (!isObject(fn)) throw new Unconvertible()
        Object.assign(flat, fn)
      } else {
        for (const [key, value] of Object.entries(tool as JsonObject)) if (key !== "type") flat[key] = value
      }
      return flat
    })
  )

const openAiChat: Converter = {
  inputs: (inputs) => {
    const messages = get(inputs, "messages")
    if (!Array.isArray(messages)) return undefined
    return messages.filter((message) => get(message, "role") !== "system").map(openAiMessage)
  },
  system: (inputs) => {
    const messages = get(inputs, "messages")
    if (!Array.isArray(messages)) return undefined
    const parts: Array<Json> = []
    for (const message of messages) {
      if (get(message, "role") === "system") parts.push(...openAiContent(get(message, "content")))
    }
    return parts.length === 0 ? undefined : parts
  },
  outputs: (outputs) => {
    const choices = get(outputs, "choices")
    if (!Array.isArray(choices)) return undefined
    return choices.map((choice) => {
      const message = get(choice, "message")
      const converted = openAiMessage(truthy(message) ? message! : getOr(choice, "delta", {}))
      const reason = get(choice, "finish_reason")
      if (truthy(reason)) converted.finish_reason = reason!
      return converted
    })
  },
  params: (inputs) => {
    const params = baseParams(inputs)
    if ("gen_ai.tool.definitions" in params) {
      params["gen_ai.tool.definitions"] = flattenTools(getOr(inputs, "tools", []))
    }
    return params
  },
  response: (outputs) => {
    const out = baseResponse(outputs)
    const choices = get(outputs, "choices")
    if (Array.isArray(choices)) {
      const reasons = choices.map((choice) => get(choice, "finish_reason")).filter(truthy) as Array<Json>
      if (reasons.length > 0) out["gen_ai.response.finish_reasons"] = reasons
    }
    return out
  }
}

// OpenAI responses

const functionCall = (item: Json): Json => ({
  role: "assistant",
  parts: [{
    type: "tool_call",
    id: at(item, "call_id"),
    name: at(item, "name"),
    arguments: toolArguments(at(item, "arguments"))
  }]
})

const responsesInputItem = (item: Json): Json => {
  const type = get(item, "type")
  if (type === "function_call") return functionCall(item)
  if (type === "function_call_output") {
    return {
      role: "tool",
      parts: [{ type: "tool_call_response", id: at(item, "call_id"), response: at(item, "output") }]
    }
  }
  return openAiMessage(item)
}

const responsesOutputItem = (item: Json): Json => {
  const type = get(item, "type")
  if (type === "message") {
    const parts = iterate(getOr(item, "content", [])).map((content) =>
      get(content, "type") === "output_text" ? text(at(content, "text")) : text(dumps(content))
    )
    return { role: getOr(item, "role", "assistant"), parts }
  }
  if (type === "function_call") return functionCall(item)
  return { role: "assistant", parts: [text(dumps(item))] }
}

const openAiResponses: Converter = {
  inputs: (inputs) => {
    const input = get(inputs, "input")
    if (input === undefined || input === null) return undefined
    if (typeof input === "string") return [{ role: "user", parts: [text(input)] }]
    return Array.isArray(input) ? input.map(responsesInputItem) : undefined
  },
  system: (inputs) => {
    const instructions = get(inputs, "instructions")
    return truthy(instructions) && typeof instructions === "string" ? [text(instructions)] : undefined
  },
  outputs: (outputs) => {
    const items = get(outputs, "output")
    if (!Array.isArray(items)) return undefined
    const status = get(outputs, "status")
    return items.map((item) => {
      const converted = responsesOutputItem(item) as { [key: string]: Json }
      if (truthy(status)) converted.finish_reason = status!
      return converted
    })
  },
  params: openAiChat.params,
  response: (outputs) => {
    const out = baseResponse(outputs)
    const status = get(outputs, "status")
    if (truthy(status)) out["gen_ai.response.finish_reasons"] = [status!]
    return out
  }
}

// Anthropic messages

const anthropicBlock = (block: Json): Json => {
  const type = get(block, "type")
  switch (type) {
    case "text":
      return text(getOr(block, "text", ""))
    case "image":
    case "document": {
      const source = getOr(block, "source", {})
      const sourceType = get(source, "type")
      if (sourceType === "base64") {
        return {
          type: "blob",
          modality: type,
          mime_type: getOr(source, "media_type", ""),
          content: getOr(source, "data", "")
        }
      }
      if (sourceType === "url") return { type: "uri", modality: type, uri: getOr(source, "url", "") }
      return text(dumps(block))
    }
    case "tool_use":
      return {
        type: "tool_call",
        id: getOr(block, "id", ""),
        name: getOr(block, "name", ""),
        arguments: get(block, "input") ?? null
      }
    case "tool_result":
      return { type: "tool_call_response", id: getOr(block, "tool_use_id", ""), response: getOr(block, "content", "") }
    default:
      return text(dumps(block))
  }
}

const anthropicMessage = (message: Json): Json => {
  const role = getOr(message, "role", "user")
  const content = get(message, "content")
  if (typeof content === "string") return { role, parts: [text(content)] }
  if (Array.isArray(content)) {
    const parts = content.map(anthropicBlock)
    const toolResult = parts.some((part) => isObject(part) && part.type === "tool_call_response")
    return { role: toolResult && parts.length === 1 ? "tool" : role, parts }
  }
  return { role, parts: [] }
}

const anthropic: Converter = {
  inputs: (inputs) => {
    const messages = get(inputs, "messages")
    return Array.isArray(messages) ? messages.map(anthropicMessage) : undefined
  },
  system: (inputs) => {
    const system = get(inputs, "system")
    if (typeof system === "string") return [text(system)]
    return Array.isArray(system) ? system.map(anthropicBlock) : undefined
  },
  outputs: (outputs) => {
    const content = get(outputs, "content")
    if (!Array.isArray(content)) return undefined
    return [{ role: getOr(outputs, "role", "assistant"), parts: content.map(anthropicBlock) }]
  },
  params: (inputs) => {
    const params = baseParams(inputs)
    const stop = get(inputs, "stop_sequences")
    if (stop !== undefined && stop !== null) {
      params["gen_ai.request.stop_sequences"] = typeof stop === "string" ? [stop] : stop
    }
    if ("gen_ai.tool.definitions" in params) params["gen_ai.tool.definitions"] = dumps(getOr(inputs, "tools", []))
    return params
  },
  response: baseResponse
}
