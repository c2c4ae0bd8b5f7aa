/**
 * What moving inline content into attachments costs the exporter, per span, before export to an
 * MLflow server (`extractAttachments` over a span's inputs and outputs; it runs on the export fibers,
 * never on the traced program's path):
 *
 * - a chat span with nothing inline (12 messages, tools, an answer): the common case, which only
 *   reads the values;
 * - the same span with one image as a `data:` URI, of 100 KiB and of 1 MiB.
 *
 * Medians over interleaved repeats, in one process.
 *
 * Run: npm run bench:attachments   (SPANS=2000 REPEATS=15 to change the size)
 */
import { extractAttachments } from "../src/internal/prepare/attachments.js"
import type { SpanData } from "../src/Trace.js"

const SPANS = Number(process.env.SPANS ?? 2000)
const REPEATS = Number(process.env.REPEATS ?? 15)

const chat = (i: number, image?: string) => ({
  messages: Array.from({ length: 12 }, (_, j) => ({
    role: j % 2 ? "assistant" : "user",
    content: j === 11 && image !== undefined
      ? [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: image } }]
      : `message ${i}-${j} `.repeat(20)
  })),
  model: "gpt-4o",
  temperature: 0.2,
  tools: [{ type: "function", function: { name: "search", parameters: { type: "object" } } }]
})

const spans = (image?: string): ReadonlyArray<SpanData> =>
  Array.from({ length: SPANS }, (_, i) => ({
    traceId: "a".repeat(32),
    spanId: i.toString(16).padStart(16, "0"),
    parentSpanId: null,
    name: "chat",
    kind: "internal",
    startTimeUnixNano: 0n,
    endTimeUnixNano: 1n,
    status: { code: "OK", message: "" },
    attributes: {
      "mlflow.spanInputs": chat(i, image),
      "mlflow.spanOutputs": { choices: [{ message: { role: "assistant", content: "x".repeat(500) } }] }
    },
    events: []
  }))

const dataUri = (bytes: number) => `data:image/png;base64,${Buffer.alloc(bytes, 7).toString("base64")}`

const cases = [
  { name: "chat span, nothing inline", spans: spans() },
  { name: "chat span, a 100 KiB image", spans: spans(dataUri(100 * 1024)) },
  { name: "chat span, a 1 MiB image", spans: spans(dataUri(1024 * 1024)) }
]
const options = { maxSize: undefined, newId: () => "00000000-0000-4000-8000-000000000000" }
const times = cases.map(() => [] as Array<number>)
for (let r = 0; r < REPEATS; r++) {
  cases.forEach((c, i) => {
    const start = performance.now()
    extractAttachments(c.spans, "tr-bench", options)
    times[i].push((performance.now() - start) * 1000 / SPANS)
  })
}
const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
console.log(
  `| case | µs per span (median of ${REPEATS}) |\n| --- | --- |\n` +
    cases.map((c, i) => `| ${c.name} | ${median(times[i]).toFixed(1)} |`).join("\n")
)
