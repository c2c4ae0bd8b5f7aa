import * as http from "node:http"
import type { AddressInfo } from "node:net"

/**
 * Loopback stand-ins for the OpenAI Responses/Embeddings API and the Anthropic Messages API that
 * speak their real wire formats (JSON and server-sent events, with usage), so that the real
 * `@effect/ai-openai` and `@effect/ai-anthropic` clients can be driven without a network.
 */

/** What the next model request answers. */
export type Behavior =
  | { readonly kind: "text"; readonly text: string; readonly usage?: Usage }
  | { readonly kind: "toolCall"; readonly id: string; readonly name: string; readonly args: unknown }
  | { readonly kind: "httpError"; readonly status: number; readonly message: string }
  /** streams the first `after` text deltas, then cuts the connection */
  | { readonly kind: "cut"; readonly text: string; readonly after: number }
  /** streams the first `after` text deltas, then sends the vendor's error event */
  | { readonly kind: "errorEvent"; readonly text: string; readonly after: number; readonly message: string }
  /** streams the first `after` text deltas, then sends nothing more (the client must give up) */
  | { readonly kind: "hang"; readonly text: string; readonly after: number }

export interface Usage {
  readonly input: number
  readonly output: number
  /** OpenAI `cached_tokens`, Anthropic `cache_read_input_tokens` */
  readonly cached?: number
  /** Anthropic `cache_creation_input_tokens` */
  readonly cacheWrite?: number
}

export interface RecordedRequest {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: any
}

export interface FakeVendor {
  readonly url: string
  readonly requests: Array<RecordedRequest>
  /** forgets recorded requests and queues these behaviors for the next requests, in order */
  readonly script: (...behaviors: ReadonlyArray<Behavior>) => void
  readonly close: () => Promise<void>
}

const DEFAULT_USAGE: Usage = { input: 21, output: 7, cached: 5 }

const words = (text: string): Array<string> => text.split(" ").map((word, i) => i === 0 ? word : ` ${word}`)

type Sse = (event: string, data: unknown) => void

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API
// ---------------------------------------------------------------------------------------------

const openAiUsage = (usage: Usage) => ({
  input_tokens: usage.input,
  input_tokens_details: { cached_tokens: usage.cached ?? 0 },
  output_tokens: usage.output,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: usage.input + usage.output
})

const openAiResponse = (body: any, output: Array<unknown>, usage: Usage | undefined, status = "completed") => ({
  id: "resp_0123456789",
  object: "response",
  created_at: 1763700000,
  status,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: body.max_output_tokens ?? null,
  model: `${body.model}-2024-07-18`,
  output,
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: true,
  temperature: body.temperature ?? 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: body.top_p ?? 1,
  truncation: "disabled",
  usage: usage === undefined ? null : openAiUsage(usage),
  user: null,
  metadata: {}
})

const messageItem = (text: string, status = "completed") => ({
  type: "message",
  id: "msg_0123456789",
  status,
  role: "assistant",
  content: status === "completed" ? [{ type: "output_text", text, annotations: [] }] : []
})

const functionCallItem = (behavior: { id: string; name: string; args: unknown }) => ({
  type: "function_call",
  id: "fc_0123456789",
  call_id: behavior.id,
  name: behavior.name,
  arguments: JSON.stringify(behavior.args),
  status: "completed"
})

const openAiStream = (body: any, behavior: Behavior, send: Sse): "end" | "cut" | "hang" => {
  let sequence = 0
  const event = (type: string, data: Record<string, unknown>) =>
    send(type, { type, sequence_number: sequence++, ...data })
  event("response.created", { response: openAiResponse(body, [], undefined, "in_progress") })
  if (behavior.kind === "toolCall") {
    const item = functionCallItem(behavior)
    event("response.output_item.added", { output_index: 0, item: { ...item, arguments: "", status: "in_progress" } })
    event("response.function_call_arguments.delta", { item_id: item.id, output_index: 0, delta: item.arguments })
    event("response.function_call_arguments.done", { item_id: item.id, output_index: 0, arguments: item.arguments })
    event("response.output_item.done", { output_index: 0, item })
    event("response.completed", { response: openAiResponse(body, [item], DEFAULT_USAGE) })
    return "end"
  }
  const text = "text" in behavior ? behavior.text : ""
  const parts = words(text)
  const limit = "after" in behavior ? behavior.after : parts.length
  event("response.output_item.added", { output_index: 0, item: messageItem("", "in_progress") })
  event("response.content_part.added", {
    item_id: "msg_0123456789",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] }
  })
  for (const delta of parts.slice(0, limit)) {
    event("response.output_text.delta", {
      item_id: "msg_0123456789",
      output_index: 0,
      content_index: 0,
      delta,
      logprobs: []
    })
  }
  if (behavior.kind === "cut") return "cut"
  if (behavior.kind === "hang") return "hang"
  if (behavior.kind === "errorEvent") {
    event("error", { code: "server_error", message: behavior.message, param: null })
    return "end"
  }
  event("response.output_text.done", {
    item_id: "msg_0123456789",
    output_index: 0,
    content_index: 0,
    text,
    logprobs: []
  })
  event("response.output_item.done", { output_index: 0, item: messageItem(text) })
  const usage = behavior.kind === "text" ? behavior.usage ?? DEFAULT_USAGE : DEFAULT_USAGE
  event("response.completed", { response: openAiResponse(body, [messageItem(text)], usage) })
  return "end"
}

const openAiJson = (body: any, behavior: Behavior): unknown => {
  if (behavior.kind === "toolCall") return openAiResponse(body, [functionCallItem(behavior)], DEFAULT_USAGE)
  const text = "text" in behavior ? behavior.text : ""
  return openAiResponse(
    body,
    [messageItem(text)],
    behavior.kind === "text" ? behavior.usage ?? DEFAULT_USAGE : DEFAULT_USAGE
  )
}

const openAiError = (behavior: { status: number; message: string }) => ({
  error: { message: behavior.message, type: "requests", param: null, code: "rate_limit_exceeded" }
})

const embeddings = (body: any) => {
  const inputs: Array<string> = Array.isArray(body.input) ? body.input : [body.input]
  return {
    object: "list",
    data: inputs.map((text, index) => ({
      object: "embedding",
      index,
      embedding: [text.length / 10, 0.5, -0.25]
    })),
    model: body.model,
    usage: { prompt_tokens: inputs.length * 3, total_tokens: inputs.length * 3 }
  }
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages API
// ---------------------------------------------------------------------------------------------

const anthropicUsage = (usage: Usage) => ({
  input_tokens: usage.input,
  output_tokens: usage.output,
  cache_read_input_tokens: usage.cached ?? 0,
  cache_creation_input_tokens: usage.cacheWrite ?? 0
})

const ANTHROPIC_USAGE: Usage = { input: 30, output: 9, cached: 4, cacheWrite: 2 }

const anthropicMessage = (body: any, content: Array<unknown>, stopReason: string | null, usage: Usage) => ({
  id: "msg_01ABCDEF",
  type: "message",
  role: "assistant",
  model: `${body.model}-20250929`,
  content,
  stop_reason: stopReason,
  stop_sequence: null,
  usage: anthropicUsage(usage)
})

const anthropicJson = (body: any, behavior: Behavior): unknown =>
  behavior.kind === "toolCall"
    ? anthropicMessage(
      body,
      [{ type: "tool_use", id: behavior.id, name: behavior.name, input: behavior.args }],
      "tool_use",
      ANTHROPIC_USAGE
    )
    : anthropicMessage(
      body,
      [{ type: "text", text: "text" in behavior ? behavior.text : "" }],
      "end_turn",
      behavior.kind === "text" ? behavior.usage ?? ANTHROPIC_USAGE : ANTHROPIC_USAGE
    )

/** Closes the content block and the message, with the final output token count. */
const anthropicStop = (send: Sse, stopReason: string, usage: Usage): "end" => {
  send("content_block_stop", { type: "content_block_stop", index: 0 })
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output }
  })
  send("message_stop", { type: "message_stop" })
  return "end"
}

const anthropicStream = (body: any, behavior: Behavior, send: Sse): "end" | "cut" | "hang" => {
  const usage = behavior.kind === "text" ? behavior.usage ?? ANTHROPIC_USAGE : ANTHROPIC_USAGE
  const start = anthropicMessage(body, [], null, { ...usage, output: 1 })
  send("message_start", { type: "message_start", message: start })
  if (behavior.kind === "toolCall") {
    send("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "tool_use", id: behavior.id, name: behavior.name, input: {} }
    })
    send("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: { type: "input_json_delta", partial_json: JSON.stringify(behavior.args) }
    })
    return anthropicStop(send, "tool_use", usage)
  }
  const parts = words("text" in behavior ? behavior.text : "")
  const limit = "after" in behavior ? behavior.after : parts.length
  send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } })
  send("ping", { type: "ping" })
  for (const text of parts.slice(0, limit)) {
    send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })
  }
  if (behavior.kind === "cut") return "cut"
  if (behavior.kind === "hang") return "hang"
  if (behavior.kind === "errorEvent") {
    send("error", { type: "error", error: { type: "overloaded_error", message: behavior.message } })
    return "end"
  }
  return anthropicStop(send, "end_turn", usage)
}

const anthropicError = (behavior: { message: string }) => ({
  type: "error",
  error: { type: "rate_limit_error", message: behavior.message }
})

// ---------------------------------------------------------------------------------------------

const readBody = (request: http.IncomingMessage): Promise<any> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      try {
        resolve(text === "" ? undefined : JSON.parse(text))
      } catch (error) {
        reject(error)
      }
    })
    request.on("error", reject)
  })

/** Starts both fake vendors on one loopback port: OpenAI under `/v1/responses` and `/v1/embeddings`, Anthropic under `/v1/messages`. */
export const startFakeVendors = (): Promise<FakeVendor> => {
  const requests: Array<RecordedRequest> = []
  const queue: Array<Behavior> = []
  const open = new Set<http.ServerResponse>()
  const server = http.createServer(async (request, response) => {
    const body = await readBody(request)
    const path = (request.url ?? "/").split("?")[0]
    requests.push({ path, headers: request.headers, body })
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { "content-type": "application/json" })
      response.end(JSON.stringify(value))
    }
    if (path === "/v1/embeddings") return json(200, embeddings(body))
    const isOpenAi = path === "/v1/responses"
    if (!isOpenAi && path !== "/v1/messages") return json(404, { error: { message: `no route ${path}` } })
    const behavior = queue.shift() ?? { kind: "text", text: "Hello from the fake vendor." }
    if (behavior.kind === "httpError") {
      return json(behavior.status, isOpenAi ? openAiError(behavior) : anthropicError(behavior))
    }
    if (body?.stream !== true) return json(200, (isOpenAi ? openAiJson : anthropicJson)(body, behavior))
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    open.add(response)
    const send: Sse = (event, data) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    const ending = (isOpenAi ? openAiStream : anthropicStream)(body, behavior, send)
    if (ending === "end") {
      response.end()
      open.delete(response)
    } else if (ending === "cut") {
      // let the written events reach the client first, then drop the connection mid-stream
      setTimeout(() => {
        response.socket?.destroy()
        open.delete(response)
      }, 50)
    }
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        script: (...behaviors) => {
          requests.length = 0
          queue.splice(0, queue.length, ...behaviors)
        },
        close: () =>
          new Promise((done) => {
            for (const response of open) response.socket?.destroy()
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}
