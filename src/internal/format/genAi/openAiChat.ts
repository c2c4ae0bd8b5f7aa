import type { Json } from "../../common/json.js"
import { dumps } from "../pythonJson.js"
import {
  at,
  baseParams,
  baseResponse,
  type Converter,
  get,
  getOr,
  isObject,
  iterate,
  type JsonObject,
  pyStr,
  text,
  truthy,
  Unconvertible
} from "./shared.js"

/** OpenAI chat completions in the GenAI conventions (also MLflow's choice for spans of no known format). */

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

/** @internal */
export const toolArguments = (args: Json): Json => {
  if (typeof args !== "string") return args
  try {
    return JSON.parse(args) as Json
  } catch {
    return args
  }
}

/** @internal */
export const openAiMessage = (message: Json): { [key: string]: Json } => {
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

/** @internal */
export const openAiChat: Converter = {
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
