/**
 * Span processors: functions that see each finished span before export and may change its inputs,
 * outputs, attributes and events (redaction, masking, dropping content). They run in order, in the
 * export worker, never on the span's own fiber. A processor that throws is reported once and the
 * span's content (inputs, outputs, attributes and event attributes it could have touched) is masked:
 * the trace still goes out, and nothing unredacted leaks because a processor failed.
 *
 * @since 0.1.0
 */
import * as JsonInternal from "./internal/common/json.js"
import type { Json } from "./internal/common/json.js"
import * as Processors from "./internal/prepare/processors.js"
import type { SpanType } from "./SpanType.js"
import type { SpanData } from "./Trace.js"

/**
 * A finished span as processors see it; the mutable fields are what they may change.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanView {
  readonly name: string
  readonly spanType: string
  readonly status: SpanData["status"]
  /** `mlflow.spanInputs`; `undefined` removes them */
  inputs: Json | undefined
  /** `mlflow.spanOutputs`; `undefined` removes them */
  outputs: Json | undefined
  /** every other attribute, except MLflow's identifiers */
  attributes: Record<string, Json>
  events: Array<{ readonly name: string; attributes: Record<string, Json> }>
  /** the span's links: the linked span's ids, and attributes that are content like any other */
  links: Array<{ readonly traceId: string; readonly spanId: string; attributes: Record<string, Json> }>
}

/**
 * A span processor: changes the view of a finished span in place. It runs in the export worker; if
 * it throws, the span's content is masked (see the module's description).
 *
 * @since 0.1.0
 * @category models
 */
export type SpanProcessor = (span: SpanView) => void

/** The replacement of a redacted value. */
const REDACTED = "<redacted>"

/**
 * Maps every string inside a JSON value; keys are passed along for key-based rules.
 *
 * @since 0.1.0
 * @category utils
 */
export const mapJson: typeof JsonInternal.mapJson = JsonInternal.mapJson

const forEachContent = (span: SpanView, f: (value: Json, key: string | undefined) => Json): void => {
  if (span.inputs !== undefined) span.inputs = mapJson(span.inputs, f)
  if (span.outputs !== undefined) span.outputs = mapJson(span.outputs, f)
  for (const key in span.attributes) span.attributes[key] = mapJson(span.attributes[key], f, key)
  for (const event of span.events) {
    for (const key in event.attributes) event.attributes[key] = mapJson(event.attributes[key], f, key)
  }
  for (const link of span.links) {
    for (const key in link.attributes) link.attributes[key] = mapJson(link.attributes[key], f, key)
  }
}

/**
 * Key names redacted by default (compared without case, `-`, `_` or spaces, by suffix):
 * `api_key`, `authorization`, `password`, `passwd`, `token` (not `tokens`), `secret`,
 * `private_key`, `cookie`, `credentials`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultSecretKeys: ReadonlyArray<string> = [
  "apikey",
  "authorization",
  "password",
  "passwd",
  "token",
  "secret",
  "privatekey",
  "cookie",
  "credentials"
]

const normalize = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, "")

/**
 * Replaces the value of every key that names a secret (anywhere in inputs, outputs, attributes and
 * events) by `"<redacted>"`. On by default; pass your own list to replace the defaults.
 *
 * @since 0.1.0
 * @category processors
 */
export const redactKeys = (keys: ReadonlyArray<string> = defaultSecretKeys): SpanProcessor => {
  const suffixes = keys.map(normalize)
  const known = new Map<string, boolean>()
  const isSecret = (key: string | undefined) => {
    if (key === undefined) return false
    let secret = known.get(key)
    if (secret === undefined) {
      const normalized = normalize(key)
      secret = suffixes.some((suffix) => normalized.endsWith(suffix))
      if (known.size < 10_000) known.set(key, secret)
    }
    return secret
  }
  return (span) => forEachContent(span, (value, key) => isSecret(key) && value !== REDACTED ? REDACTED : value)
}

const luhn = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/**
 * A masking rule: matches of `pattern` become `replacement`, when `accept` (if given) agrees.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mask {
  readonly pattern: RegExp
  readonly replacement: string
  readonly accept?: ((match: string) => boolean) | undefined
}

/**
 * Built-in masks: card numbers (13 to 19 digits, Luhn-checked), US social security numbers,
 * e-mail addresses and phone numbers (9 to 15 digits, as E.164 allows).
 *
 * @since 0.1.0
 * @category constants
 */
export const masks = {
  card: {
    pattern: /\b\d(?:[ -]?\d){12,18}\b/g,
    replacement: "<CARD>",
    accept: (match: string) => luhn(match.replace(/[ -]/g, ""))
  },
  nationalId: { pattern: /\b\d{3}-\d{2}-\d{4}\b/g, replacement: "<NATIONAL_ID>" },
  email: { pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, replacement: "<EMAIL>" },
  phone: {
    pattern: /(?<![\w])\+?\(?\d[\d\s().-]{7,}\d(?![\w])/g,
    replacement: "<PHONE>",
    accept: (match: string) => {
      const digits = match.replace(/\D/g, "").length
      return digits >= 9 && digits <= 15
    }
  }
} satisfies Record<string, Mask>

/**
 * Masks personal data in every string of the span's content. Defaults to all built-in masks, in the
 * order card, national id, e-mail, phone.
 *
 * @since 0.1.0
 * @category processors
 */
export const maskPatterns = (
  rules: ReadonlyArray<Mask> = [masks.card, masks.nationalId, masks.email, masks.phone]
): SpanProcessor => {
  const mask = (text: string): string => {
    let out = text
    for (const rule of rules) {
      out = out.replace(
        rule.pattern,
        (match) => rule.accept === undefined || rule.accept(match) ? rule.replacement : match
      )
    }
    return out
  }
  return (span) => forEachContent(span, (value) => typeof value === "string" ? mask(value) : value)
}

/**
 * Keeps usage and timings but drops prompt and response content: inputs, outputs and event
 * attributes (stream chunks, log annotations) of every span, or only of the given span types.
 *
 * @since 0.1.0
 * @category processors
 */
export const dropContent = (
  options: { readonly spanTypes?: ReadonlyArray<SpanType> | undefined } = {}
): SpanProcessor => {
  const types = options.spanTypes === undefined ? undefined : new Set<string>(options.spanTypes)
  return (span) => {
    if (types !== undefined && !types.has(span.spanType)) return
    span.inputs = undefined
    span.outputs = undefined
    for (const event of span.events) event.attributes = {}
    for (const link of span.links) link.attributes = {}
  }
}

/**
 * Runs processors over a span; answers the processed span and, when a processor threw, its error
 * (the span's content is then masked).
 *
 * @since 0.1.0
 * @category utils
 */
export const process: (
  span: SpanData,
  processors: ReadonlyArray<SpanProcessor>
) => { readonly span: SpanData; readonly error: unknown } = Processors.process
