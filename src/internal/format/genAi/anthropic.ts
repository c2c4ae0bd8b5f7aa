import type { Json } from "../../common/json.js"
import { dumps } from "../pythonJson.js"
import { baseParams, baseResponse, type Converter, get, getOr, isObject, text } from "./shared.js"

/** Anthropic messages in the GenAI conventions. */

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

/** @internal */
export const anthropic: Converter = {
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
