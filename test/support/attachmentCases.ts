/**
 * Span inputs with inline content, generated from the shapes MLflow 3.18's `LiveSpan` extracts
 * (`_try_convert_data_uri`, `_try_convert_structured_content`) and the edges of each: payloads
 * Python's strict base64 takes or refuses, content types, shapes that nearly match, nesting, and
 * `MLFLOW_TRACE_MAX_ATTACHMENT_SIZE`. Written apart from the code it judges.
 */

export interface AttachmentCase {
  readonly value: unknown
  readonly maxSize?: number
}

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

/** base64 texts: Python's `b64decode(validate=True)` takes the first group and refuses the second */
const TAKEN = ["", "QQ==", "QUI=", "QUJD", "QR==", "AAAA=", "AAAA==", "AAAA===", "+/+/", PNG, "QUJD".repeat(700)]
const REFUSED = [
  "QQ",
  "QQ=",
  "Q===",
  "=QQ=",
  "QQ==QQ==",
  "QQ==\n",
  " QUJD",
  "QUJD ",
  "QU JD",
  "QUJé",
  "QUI-",
  "QU_D",
  "@@@@"
]
const PAYLOADS = [...TAKEN, ...REFUSED]

const MIMES = [
  "image/png",
  "audio/wav",
  "",
  "image/svg+xml",
  "text/plain;charset=utf-8",
  "a b/c",
  "ümlaut/x",
  "x!'()*~._-/y"
]

const dataUris = (): Array<string> => [
  ...MIMES.flatMap((mime) => PAYLOADS.map((payload) => `data:${mime};base64,${payload}`)),
  "data:;base64,QUJD",
  "DATA:image/png;base64,QUJD",
  "data:image/png,QUJD",
  " data:image/png;base64,QUJD",
  "data:image/png;base64;base64,QUJD",
  "data:image/png;base64,QUJD;base64,QUJD",
  "data:image/png;charset=x;base64,QUJD",
  "xdata:image/png;base64,QUJD",
  "data:",
  "data:image/png;base64,"
]

const FORMATS: ReadonlyArray<unknown> = ["wav", "mp3", "flac", "", null, 3, true, undefined]

/** every structured shape, around one payload */
const shapes = (data: unknown): Array<unknown> => {
  const withFormat = (format: unknown, value: Record<string, unknown>) =>
    format === undefined ? value : { ...value, format }
  return [
    ...FORMATS.map((format) => ({ type: "input_audio", input_audio: withFormat(format, { data }) })),
    { type: "input_audio", input_audio: "x" },
    { type: "input_audio", data },
    { type: "image", source: { type: "base64", media_type: "image/jpeg", data } },
    { type: "image", source: { type: "base64", data } },
    { type: "image", source: { type: "base64", media_type: null, data } },
    { type: "image", source: { type: "url", data } },
    { type: "picture", source: { type: "base64", data } },
    { b64_json: data, revised_prompt: "a cat" },
    { b64_json: data, url: null },
    { audio: { data, transcript: "hi" }, role: "assistant" },
    { audio: { id: "a1", data } },
    ...FORMATS.map((format) => ({ image: withFormat(format, { source: { bytes: data } }) })),
    { image: { source: "bytes" } },
    { inline_data: { mime_type: "image/webp", data } },
    { inline_data: { data } },
    { inline_data: { mime_type: "", data } },
    { inline_data: { mime_type: 7, data } },
    ...FORMATS.map((format) =>
      format === undefined
        ? { type: "image_generation_call", result: data }
        : { type: "image_generation_call", result: data, output_format: format }
    ),
    { type: "other_call", result: data }
  ]
}

/** Gemini bytes as Python's `repr` writes them, and literals next to that form */
const BYTES_LITERALS = [
  "b'abc'",
  "b'\\x89PNG\\r\\n\\x1a\\n'",
  "b\"it's\"",
  "b'\\\\'",
  "b'\\''",
  "b'a' b'b'",
  "b'a'b\"b\"",
  "b'a'  ",
  "b'a'\n",
  "b'a' # a comment",
  "b'\\777'",
  "b'\\0\\00\\000\\1'",
  "b'\\q\\u1234\\N{DASH}'",
  "b'\\x4'",
  "b'\\xZZ'",
  "b'é'",
  "b'''a\nb'''",
  "b'a\nb'",
  "b'a\\\nb'",
  "b'a' rb'\\n'",
  "b'a' 'b'",
  "b'a' + b'b'",
  "b'a' x",
  "b'unterminated",
  "b''",
  "b'\\a\\b\\f\\v\\t'"
]

const NESTINGS: ReadonlyArray<(value: unknown) => unknown> = [
  (value) => value,
  (value) => ({ messages: [{ role: "user", content: [{ type: "text", text: "look" }, value] }] }),
  (value) => [value, value]
]

export const attachmentCases = (): Array<AttachmentCase> => {
  const cases: Array<AttachmentCase> = []
  for (const uri of dataUris()) {
    cases.push({ value: uri })
    cases.push({ value: { type: "image_url", image_url: { url: uri } } })
  }
  for (const payload of PAYLOADS) for (const shape of shapes(payload)) cases.push({ value: shape })
  for (const data of [42, null, "", ["QUJD"], { data: "QUJD" }, "mlflow-attachment://x?content_type=a&trace_id=b"]) {
    for (const shape of shapes(data)) cases.push({ value: shape })
  }
  for (const literal of BYTES_LITERALS) {
    cases.push({ value: { inline_data: { mime_type: "image/png", data: literal } } })
  }
  for (const nest of NESTINGS) {
    cases.push({ value: nest(`data:image/png;base64,${PNG}`) })
    cases.push({ value: nest({ type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }) })
    cases.push({
      value: nest({ inline_data: { mime_type: "image/png", data: "QUJD" }, caption: "data:a/b;base64,QQ==" })
    })
  }
  // shapes that match more than one pattern, and siblings of a match
  cases.push(
    { value: { type: "input_audio", input_audio: { data: "QUJD" }, b64_json: "QUJD" } },
    { value: { type: "input_audio", input_audio: { data: "@@" }, b64_json: "QUJD" } },
    { value: { b64_json: "QUJD", audio: { data: "QUJD" } } },
    { value: { b64_json: "@@", audio: { data: "QUJD" }, other: "data:a/b;base64,QQ==" } },
    { value: { audio: { data: "QUJD" }, image: { source: { bytes: "QUJD" } } } },
    { value: { image: { source: { bytes: "QUJD" } }, inline_data: { data: "QUJD" } } },
    { value: { type: "image", source: { type: "base64", data: "QUJD" }, b64_json: "QUJD" } },
    { value: { b64_json: "QUJD", nested: { b64_json: "QUI=" } } },
    { value: { wrapper: { audio: { data: "data:audio/wav;base64,QUJD" } } } },
    { value: "plain text" },
    { value: 12 },
    { value: null },
    { value: { a: [1, true, null, "data:x/y;base64,QQ=="] } }
  )
  // the size limit, around the sizes of the payloads
  for (const maxSize of [0, -1, 1, 2, 3, 4, 70]) {
    cases.push(
      { maxSize, value: "data:image/png;base64,QUJD" },
      { maxSize, value: { b64_json: "QUI=" } },
      { maxSize, value: { type: "image", source: { type: "base64", data: PNG } } },
      { maxSize, value: [`data:image/png;base64,${PNG}`, "data:a/b;base64,QQ=="] }
    )
  }
  return cases
}
