import * as Cause from "effect/Cause"
import type * as Exit from "effect/Exit"
import type { SpanEvent, SpanStatus } from "../../Trace.js"

/** @internal Description of a span ended by interruption (and nothing else). */
export const INTERRUPTED_DESCRIPTION = "Interrupted"

const errorType = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = (error as { _tag?: unknown })._tag
    if (typeof tag === "string") return tag
    if (error instanceof Error) return error.name
    return error.constructor?.name ?? "Object"
  }
  return typeof error
}

const errorMessage = (error: unknown): string => {
  try {
    if (error instanceof Error) return error.message
    if (typeof error === "object" && error !== null) {
      const message = (error as { message?: unknown }).message
      if (typeof message === "string") return message
      return JSON.stringify(error) ?? String(error)
    }
    return String(error)
  } catch {
    return "<unprintable error>"
  }
}

/**
 * Status and `exception` event of an ended span, from its exit.
 *
 * - success: OK;
 * - interruption only: ERROR with description `"Interrupted"` and an `exception` event of type
 *   `Interrupted` (MLflow has no "cancelled" state, a span that did not finish its work must not look
 *   successful, and MLflow's UI marks a span as failed only by its exception event);
 * - failure or defect: ERROR with `"<Type>: <message>"` and an `exception` event carrying
 *   `exception.type`, `exception.message` and `exception.stacktrace` (the pretty-printed cause).
 *
 * @internal
 */
export const fromExit = (
  exit: Exit.Exit<unknown, unknown>,
  timeUnixNano: bigint
): { readonly status: SpanStatus; readonly event: SpanEvent | undefined } => {
  if (exit._tag === "Success") return { status: { code: "OK", message: "" }, event: undefined }
  const cause = exit.cause
  if (Cause.isInterruptedOnly(cause)) {
    return {
      status: { code: "ERROR", message: INTERRUPTED_DESCRIPTION },
      event: {
        name: "exception",
        timeUnixNano,
        attributes: {
          "exception.type": INTERRUPTED_DESCRIPTION,
          "exception.message": "the span was interrupted before its work finished",
          "exception.stacktrace": "Interrupted"
        }
      }
    }
  }
  const error = Cause.squash(cause)
  const type = errorType(error)
  const message = errorMessage(error)
  let stacktrace: string
  try {
    stacktrace = Cause.pretty(cause, { renderErrorCause: true })
  } catch {
    stacktrace = `${type}: ${message}`
  }
  return {
    status: { code: "ERROR", message: `${type}: ${message}` },
    event: {
      name: "exception",
      timeUnixNano,
      attributes: { "exception.type": type, "exception.message": message, "exception.stacktrace": stacktrace }
    }
  }
}
