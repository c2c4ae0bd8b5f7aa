import * as Encoding from "effect/Encoding"
import type { SpanData, TraceAttachment } from "../../Trace.js"
import { type Json, setOwn } from "../common/json.js"
import { ATTACHMENT_KEYS, mayHold, REF_SCHEME } from "../format/attachmentRefs.js"
import { pythonBytes } from "../format/pythonBytes.js"

/**
 * Inline binary content in span inputs and outputs (base64 `data:` URIs, and the base64 fields of
 * the OpenAI, Anthropic, Bedrock and Gemini message shapes) moved into trace attachments, as MLflow
 * 3.18's `LiveSpan.set_inputs` / `set_outputs` do: the value is replaced by an
 * `mlflow-attachment://<id>?content_type=..&trace_id=..&size=..` reference and the content is
 * uploaded beside the trace.
 */

/** @internal */
export interface AttachmentOptions {
  /** content larger than this (bytes) is discarded and replaced by a note, as MLflow does; none: no limit */
  readonly maxSize: number | undefined
  /** a fresh attachment id (a UUID) */
  readonly newId: () => string
}

/** Python's `base64.b64decode(s, validate=True)`: the data part, or `undefined` when Python refuses it. */
const strictBase64 = (text: string): string | undefined => {
  const match = /^([A-Za-z0-9+/]*)(=*)$/.exec(text)
  if (match === null) return undefined
  const [, data, padding] = match
  const rest = data.length % 4
  if (padding === "") return rest === 0 ? data : undefined
  if (rest === 0) return data.length > 0 ? data : undefined
  if (rest === 1) return undefined
  return padding.length === (rest === 2 ? 2 : 1) ? data : undefined
}

const base64Content = (data: string): Readonly<{ size: number; content: () => Uint8Array }> => ({
  size: Math.floor(data.length * 3 / 4),
  content: () => {
    const padded = data + "=".repeat((4 - data.length % 4) % 4)
    const decoded = Encoding.decodeBase64(padded)
    return decoded._tag === "Right" ? decoded.right : new Uint8Array(0)
  }
})

/** Python's `urllib.parse.urlencode` value quoting (`quote_plus`). */
const quotePlus = (text: string): string =>
  encodeURIComponent(text.toWellFormed()).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
  ).replace(/%20/g, "+")

/** The attachments found in one value, and the value with references in their place. */
class Extraction {
  readonly found: Array<TraceAttachment> = []
  /** content replaced: by a reference, or by a note when too large */
  replaced = 0
  constructor(readonly traceId: string, readonly options: AttachmentOptions) {}

  store(contentType: string, source: string, content: Readonly<{ size: number; content: () => Uint8Array }>): string {
    const { maxSize } = this.options
    this.replaced++
    if (maxSize !== undefined && maxSize > 0 && content.size > maxSize) {
      return `[Attachment too large: ${content.size} bytes exceeds ${maxSize} bytes limit]`
    }
    const id = this.options.newId()
    const ref = `${REF_SCHEME}${id}?content_type=${quotePlus(contentType)}&trace_id=${
      quotePlus(this.traceId)
    }&size=${content.size}`
    this.found.push({ id, ref, contentType, size: content.size, source, content: content.content })
    return ref
  }

  fromBase64(contentType: string, text: string): string | undefined {
    const data = strictBase64(text)
    return data === undefined ? undefined : this.store(contentType, text, base64Content(data))
  }

  dataUri(value: string): string | undefined {
    if (!value.startsWith("data:")) return undefined
    const at = value.indexOf(";base64,")
    if (at < 0) return undefined
    const mime = value.slice(5, at)
    if (mime === "") return undefined
    const data = strictBase64(value.slice(at + 8))
    return data === undefined ? undefined : this.store(mime, value, base64Content(data))
  }

  /** MLflow's `_try_convert_structured_content`, shape by shape, in its order. */
  structured(value: { readonly [key: string]: Json }): { readonly [key: string]: Json } | undefined {
    const text = (v: Json | undefined): v is string => typeof v === "string" && v !== ""
    const record = (v: Json | undefined): v is { readonly [key: string]: Json } =>
      typeof v === "object" && v !== null && !Array.isArray(v)
    const notRef = (v: string) => !v.startsWith(REF_SCHEME)

    const inputAudio = value["input_audio"]
    if (value["type"] === "input_audio" && record(inputAudio) && text(inputAudio["data"])) {
      const format = got(inputAudio, "format", "wav")
      const ref = this.fromBase64(format === "mp3" ? "audio/mpeg" : `audio/${pythonStr(format)}`, inputAudio["data"])
      return ref === undefined ? undefined : { ...value, input_audio: { ...inputAudio, data: ref } }
    }
    const source = value["source"]
    if (value["type"] === "image" && record(source) && source["type"] === "base64" && text(source["data"])) {
      const mediaType = got(source, "media_type", "image/png")
      const ref = this.fromBase64(pythonStr(mediaType), source["data"])
      return ref === undefined ? undefined : { ...value, source: { ...source, data: ref } }
    }
    const b64 = value["b64_json"]
    if (text(b64)) {
      const ref = this.fromBase64("image/png", b64)
      return ref === undefined ? undefined : { ...value, b64_json: ref }
    }
    const audio = value["audio"]
    if (record(audio) && text(audio["data"]) && notRef(audio["data"])) {
      const ref = this.fromBase64("audio/wav", audio["data"])
      return ref === undefined ? undefined : { ...value, audio: { ...audio, data: ref } }
    }
    const image = value["image"]
    if (record(image) && record(image["source"])) {
      const imageSource = image["source"]
      const bytes = imageSource["bytes"]
      if (text(bytes) && notRef(bytes)) {
        const format = got(image, "format", "png")
        const ref = this.fromBase64(`image/${text(format) ? format : "png"}`, bytes)
        return ref === undefined ? undefined : { ...value, image: { ...image, source: { ...imageSource, bytes: ref } } }
      }
    }
    const inline = value["inline_data"]
    if (record(inline) && text(inline["data"]) && notRef(inline["data"])) {
      const data = inline["data"]
      const mimeType = got(inline, "mime_type", "application/octet-stream")
      const contentType = text(mimeType) ? mimeType : "application/octet-stream"
      const literal = data.startsWith("b'") || data.startsWith("b\"") ? pythonBytes(data) : undefined
      const ref = literal !== undefined
        ? this.store(contentType, data, { size: literal.length, content: () => literal })
        : this.fromBase64(contentType, data)
      return ref === undefined ? undefined : { ...value, inline_data: { ...inline, data: ref } }
    }
    const result = value["result"]
    if (value["type"] === "image_generation_call" && text(result) && notRef(result)) {
      const format = got(value, "output_format", "png")
      const ref = this.fromBase64(`image/${text(format) ? format : "png"}`, result)
      return ref === undefined ? undefined : { ...value, result: ref }
    }
    return undefined
  }

  /** MLflow's `_extract_attachments` over a JSON value. */
  walk(value: Json): Json {
    if (typeof value === "string") return this.dataUri(value) ?? value
    if (Array.isArray(value)) return value.map((item) => this.walk(item))
    if (typeof value === "object" && value !== null) {
      const record = value as { readonly [key: string]: Json }
      const converted = this.structured(record) ?? record
      const out: { [key: string]: Json } = {}
      for (const key in converted) setOwn(out, key, this.walk(converted[key]))
      return out
    }
    return value
  }
}

/** Python's `dict.get(key, fallback)`: a key set to null is null. */
const got = (record: { readonly [key: string]: Json }, key: string, fallback: Json): Json =>
  Object.hasOwn(record, key) ? record[key] : fallback

/** How Python's `str()` writes a JSON value that a content type is made of. */
const pythonStr = (value: Json): string =>
  typeof value === "string"
    ? value
    : value === null
    ? "None"
    : typeof value === "boolean"
    ? (value ? "True" : "False")
    : typeof value === "number"
    ? String(value)
    : JSON.stringify(value)

/**
 * One value of `mlflow.spanInputs` / `mlflow.spanOutputs` with its inline content moved out: the
 * same value when it holds none.
 *
 * @internal
 */
export const extractFromValue = (
  value: Json,
  traceId: string,
  options: AttachmentOptions
): { readonly value: Json; readonly attachments: ReadonlyArray<TraceAttachment> } => {
  const extraction = new Extraction(traceId, options)
  // MLflow runs the same pass again over the value as serialized; on JSON values it finds more only
  // in shapes that the first pass rewrote
  const first = extraction.walk(value)
  if (extraction.replaced === 0) return { value, attachments: [] }
  const before = extraction.found.length
  const second = extraction.walk(first)
  return { value: extraction.found.length > before ? second : first, attachments: extraction.found }
}

/**
 * A span with the inline content of its inputs and outputs moved into attachments (pushed onto
 * `attachments`); the same span when it has none.
 *
 * @internal
 */
export const extractFromSpan = (
  span: SpanData,
  traceId: string,
  options: AttachmentOptions,
  attachments: Array<TraceAttachment>
): SpanData => {
  let attributes: Record<string, Json> | undefined
  for (const key of ATTACHMENT_KEYS) {
    const value = span.attributes[key]
    if (value === undefined || !mayHold(value)) continue
    const extracted = extractFromValue(value, traceId, options)
    if (extracted.value === value) continue
    attachments.push(...extracted.attachments)
    attributes ??= { ...span.attributes }
    attributes[key] = extracted.value
  }
  return attributes === undefined ? span : { ...span, attributes }
}

/**
 * The spans of a trace with the inline content of their inputs and outputs moved into attachments.
 *
 * @internal
 */
export const extractAttachments = (
  spans: ReadonlyArray<SpanData>,
  traceId: string,
  options: AttachmentOptions
): { readonly spans: ReadonlyArray<SpanData>; readonly attachments: ReadonlyArray<TraceAttachment> } => {
  const attachments: Array<TraceAttachment> = []
  const out = spans.map((span) => extractFromSpan(span, traceId, options, attachments))
  return { spans: out.every((span, i) => span === spans[i]) ? spans : out, attachments }
}
