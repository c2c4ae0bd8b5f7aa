import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A request seen by the recorder. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A loopback HTTP server that records requests and answers with `reply`; closed with the scope. */
export const recorder = (reply: (seen: Seen) => { status: number; body: string }) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; seen: Array<Seen>; server: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const server = http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => body += chunk)
        req.on("end", () => {
          const entry = { method: req.method!, url: req.url!, headers: req.headers, body }
          seen.push(entry)
          const { body: out, status } = reply(entry)
          res.writeHead(status, { "content-type": "application/json" }).end(out)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, server }))
      })
    }),
    (handle) =>
      Effect.async<void>((resume) => {
        handle.server.closeAllConnections()
        handle.server.close(() => resume(Effect.void))
      })
  )
