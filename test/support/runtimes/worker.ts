/**
 * The workerd program: a module worker whose `fetch` runs `program.ts` with the settings given as the
 * request's body, and answers the report once the tracing layer is released, so within the request
 * (workerd stops a request's work once it is answered). A file apart: Bun serves a script's default
 * export when it has a `fetch`.
 */
import { run, type Settings } from "./program.js"

export default {
  async fetch(request: Request): Promise<Response> {
    const settings: Settings = await request.json()
    try {
      return Response.json(await run(settings))
    } catch (error) {
      return new Response(String(error instanceof Error ? error.stack : error), { status: 500 })
    }
  }
}
