import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** What the proxy answers itself instead of forwarding; `undefined` forwards the request. */
export type Intercept = (
  request: { readonly method: string; readonly url: string; readonly body: Buffer }
) => { readonly status: number; readonly body: string } | undefined

/**
 * A loopback proxy in front of a real server that counts requests by `METHOD path` and answers
 * some of them itself, as a misbehaving proxy or server would.
 */
export const interceptingProxy = async (target: string, intercept: Intercept) => {
  const seen = new Map<string, number>()
  const bodies = new Map<string, Array<Buffer>>()
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", async () => {
      const body = Buffer.concat(chunks)
      const key = `${req.method} ${req.url?.split("?")[0]}`
      seen.set(key, (seen.get(key) ?? 0) + 1)
      bodies.set(key, [...(bodies.get(key) ?? []), body])
      const answer = intercept({ method: req.method!, url: req.url!, body })
      if (answer !== undefined) {
        res.writeHead(answer.status, { "content-type": "text/plain" }).end(answer.body)
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
          ...(body.length > 0 ? { body } : {})
        })
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
        res.end(Buffer.from(await upstream.arrayBuffer()))
      } catch {
        res.destroy()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: (key: string) => seen.get(key) ?? 0,
    bodies: (key: string): ReadonlyArray<Buffer> => bodies.get(key) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
