/**
 * A process of another host whose clock is SKEW_MILLIS ahead: claims up to 10 traces of the spool in
 * SPOOL_DIR (the destination of the spool tests) and prints how many it got, as one JSON line.
 */
import { Effect } from "effect"
import { createRequire, syncBuiltinESMExports } from "node:module"

const skew = Number(process.env.SKEW_MILLIS ?? "0")
const realNow = Date.now
Date.now = () => realNow() + skew
const os = createRequire(import.meta.url)("node:os")
os.hostname = () => "another-host"
syncBuiltinESMExports()

const Spool = await import("../../../src/internal/sinks/spool.js")
const record = Spool.recordFor("http://127.0.0.1:5000", { _tag: "Id", id: "1" })
const claimed = await Effect.runPromise(
  Spool.open(process.env.SPOOL_DIR!, record, { maxBytes: 1024 * 1024, maxAgeMillis: 60_000 }).claim(10)
)
process.stdout.write(JSON.stringify({ claimed: claimed.length }) + "\n")
