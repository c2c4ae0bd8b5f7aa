import type { Json } from "../../common/json.js"
import { dumps } from "../pythonJson.js"
import { openAiChat, openAiMessage, toolArguments } from "./openAiChat.js"
import { at, baseResponse, type Converter, get, getOr, iterate, text, truthy } from "./shared.js"

/** The OpenAI responses API in the GenAI conventions. */

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

/** @internal */
export const openAiResponses: Converter = {
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
