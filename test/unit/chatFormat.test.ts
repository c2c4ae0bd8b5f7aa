import { describe, expect, it } from "@effect/vitest"
import * as ChatFormat from "../../src/internal/llm/chatFormat.js"
import * as Completion from "../../src/internal/llm/completion.js"

describe("chat format", () => {
  it("maps @effect/ai prompts to OpenAI chat messages, files included", () => {
    expect(ChatFormat.messages([
      { role: "system", content: "sys" },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
          { type: "file", mediaType: "image/jpeg", data: new URL("https://example.com/cat.jpg") },
          { type: "file", mediaType: "application/pdf", fileName: "a.pdf", data: "AAEC" }
        ]
      },
      { role: "assistant", content: [{ type: "text", text: "A cat." }] }
    ])).toEqual([
      { role: "system", content: "sys" },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,AAEC" } }
        ]
      },
      { role: "assistant", content: "A cat." }
    ])
  })

  it("records a prompt as written, even one @effect/ai will reject, without throwing", () => {
    expect(ChatFormat.messages([{ role: "robot", content: 1 }, "stray"] as any)).toEqual([
      { role: "robot", content: "1" },
      { role: "undefined", content: "stray" }
    ])
    expect(ChatFormat.messages([{ role: "user", content: "plain string content" }])).toEqual([
      { role: "user", content: "plain string content" }
    ])
  })

  it("maps tool choices to OpenAI's form", () => {
    expect(ChatFormat.toolChoice("auto")).toBe("auto")
    expect(ChatFormat.toolChoice({ tool: "GetWeather" })).toEqual({
      type: "function",
      function: { name: "GetWeather" }
    })
    expect(ChatFormat.toolChoice({ oneOf: ["A", "B"], mode: "required" })).toEqual({
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", function: { name: "A" } }, { type: "function", function: { name: "B" } }]
    })
  })

  it("normalizes token usage: cached tokens as MLflow records them, per provider", () => {
    expect(Completion.tokenUsage({ inputTokens: 100, outputTokens: 10, totalTokens: 110, cachedInputTokens: 80 }, {}))
      .toEqual({ input_tokens: 100, output_tokens: 10, total_tokens: 110, cache_read_input_tokens: 80 })
    // Anthropic's input_tokens exclude cache reads and writes
    expect(Completion.tokenUsage(
      { inputTokens: 20, outputTokens: 10, totalTokens: 30, cachedInputTokens: 50 },
      { anthropic: { usage: { input_tokens: 20, cache_read_input_tokens: 50, cache_creation_input_tokens: 30 } } }
    )).toEqual({
      input_tokens: 100,
      output_tokens: 10,
      total_tokens: 110,
      cache_read_input_tokens: 50,
      cache_creation_input_tokens: 30
    })
    expect(Completion.tokenUsage({ inputTokens: undefined, outputTokens: undefined }, undefined)).toBeUndefined()
  })
})
