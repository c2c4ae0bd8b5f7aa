import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A request the proxy saw. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

/**
 * What the proxy answers itself instead of forwarding; `undefined` forwards the request, `"hold"`
 * never answers it (a server that hangs).
 */
export type Intercept = (request: Seen) =>
  | {
    readonly status: number
    readonly body: string
    readonly contentType?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  | "hold"
  | undefined

/**
 * A loopback proxy in front of a real server that records every request and answers some of them
 * itself, as a misbehaving proxy or server would.
 */
export const interceptingProxy = async (
  target: string,
  intercept: Intercept,
  /** told of each request once the server's answer was passed on */
  forwarded: (request: Seen) => void = () => undefined,
  /** how long to keep the server's answer to a request before passing it on (the server has acted on it) */
  answerDelayMillis: (request: Seen) => number = () => 0
) => {
  const requests: Array<Seen> = []
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", async () => {
      const seen: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) }
      requests.push(seen)
      const answer = intercept(seen)
      if (answer === "hold") return
      if (answer !== undefined) {
        res.writeHead(answer.status, { "content-type": answer.contentType ?? "text/plain", ...answer.headers })
          .end(answer.body)
        return
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === "string" && name !== "host" && name !== "content-length") headers[name] = value
      }
      try {
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method!,
          headers,
          ...(seen.body.length > 0 ? { body: new Uint8Array(seen.body) } : {})
        })
        const answer = Buffer.from(await upstream.arrayBuffer())
        const delay = answerDelayMillis(seen)
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
        res.end(answer)
        forwarded(seen)
      } catch {
        res.destroy()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  /** the requests to `METHOD path` (the query left out) */
  const to = (key: string) => requests.filter((r) => `${r.method} ${r.url.split("?")[0]}` === key)
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    count: (key: string) => to(key).length,
    bodies: (key: string): ReadonlyArray<Buffer> => to(key).map((r) => r.body),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** `interceptingProxy` as a scoped resource: closed with the scope. */
export const scopedProxy = (
  target: string,
  intercept: Intercept,
  forwarded?: (request: Seen) => void,
  answerDelayMillis?: (request: Seen) => number
) =>
  Effect.acquireRelease(
    Effect.promise(() => interceptingProxy(target, intercept, forwarded, answerDelayMillis)),
    (proxy) => Effect.promise(proxy.close)
  )
