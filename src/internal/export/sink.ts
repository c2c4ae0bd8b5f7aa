import * as Schema from "effect/Schema"

// the contracts are the public module's; the exporter and the sinks take them from here
export type { ExportContext, ExportOutcome, Held, Sink } from "../../Sink.js"

/**
 * A sink failed to store traces.
 */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  detail: Schema.String,
  /** transient: the same export may succeed later */
  retryable: Schema.Boolean,
  /** the destination asked to wait this long (`Retry-After`) */
  retryAfterMillis: Schema.optional(Schema.Number),
  /** what kind of failure (such as `HTTP 403 PERMISSION_DENIED` or `connection refused`): errors are reported once per reason */
  reason: Schema.optional(Schema.String)
}) {
  get message(): string {
    return this.detail
  }
}
