/**
 * MLflow span types. Any other string is accepted as a custom type.
 *
 * @since 0.1.0
 */

/**
 * The 15 span types MLflow knows.
 *
 * @since 0.1.0
 * @category constants
 */
export const SpanType = {
  LLM: "LLM",
  CHAIN: "CHAIN",
  AGENT: "AGENT",
  TOOL: "TOOL",
  CHAT_MODEL: "CHAT_MODEL",
  RETRIEVER: "RETRIEVER",
  PARSER: "PARSER",
  EMBEDDING: "EMBEDDING",
  RERANKER: "RERANKER",
  MEMORY: "MEMORY",
  UNKNOWN: "UNKNOWN",
  WORKFLOW: "WORKFLOW",
  TASK: "TASK",
  GUARDRAIL: "GUARDRAIL",
  EVALUATOR: "EVALUATOR"
} as const

/**
 * One of MLflow's span types, or a custom string.
 *
 * @since 0.1.0
 * @category models
 */
export type SpanType = (typeof SpanType)[keyof typeof SpanType] | (string & {})

/**
 * All built-in span types.
 *
 * @since 0.1.0
 * @category constants
 */
export const all: ReadonlyArray<SpanType> = Object.values(SpanType)
