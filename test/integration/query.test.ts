import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, Stream } from "effect"
import { Assessment, Mlflow, MlflowClient, MlflowTracing, Search, SearchFilter as F } from "../../src/index.js"
import { experimentIdByName, flaskOnlyUrl, mlflowUrl, python, pythonGetTraces, uniqueName } from "./helpers.js"

const client = (url: string) => MlflowClient.layerConfigFetch({ trackingUri: url })

/** `effect` with a client of the server at `url` (the layer's own client talks to the main server). */
const run = <A, E>(url: string, effect: Effect.Effect<A, E, MlflowClient.MlflowClient>) =>
  Effect.provide(effect, client(url))

const traced = <A, E>(url: string, experimentName: string, effect: Effect.Effect<A, E>) =>
  effect.pipe(Effect.provide(MlflowTracing.layer({ trackingUri: url, experimentName })))

/** Ten traces with varied users, sessions, tags, states, spans and durations. */
const population = (i: number) =>
  Effect.gen(function*() {
    yield* Mlflow.updateCurrentTrace({
      user: `u${i % 3}`,
      sessionId: `s${i % 2}`,
      tags: { env: i % 2 === 0 ? "prod" : "dev" },
      clientRequestId: `req-${i}`
    })
    if (i % 2 === 0) yield* Effect.succeed(["doc"]).pipe(Mlflow.span("retrieve", { spanType: "RETRIEVER" }))
    yield* Effect.sleep(i * 6).pipe(Mlflow.span("generate", { spanType: "CHAT_MODEL", inputs: { i } }))
    if (i % 4 === 3) return yield* Effect.fail(`failure ${i}`)
    return i
  }).pipe(Mlflow.span(i % 5 === 0 ? "batch" : "chat", { spanType: "CHAIN" }), Effect.ignore)

/** The traces every test here searches: made once, when the layer is built. */
class Population extends Context.Tag("test/Population")<Population, {
  readonly name: string
  readonly ids: ReadonlyArray<string>
  readonly start: number
  readonly middle: number
  readonly expId: string
}>() {}

const PopulationLive = Layer.effect(
  Population,
  Effect.gen(function*() {
    const name = uniqueName("search")
    const ids: Array<string> = []
    const start = Date.now() - 1
    let middle = 0
    yield* traced(
      mlflowUrl(),
      name,
      Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
        Effect.gen(function*() {
          if (i === 5) middle = Date.now()
          yield* population(i)
          const id = yield* Mlflow.lastTraceId
          ids.push(Option.getOrThrow(id))
        }), { discard: true })
    )
    const expId = yield* experimentIdByName(mlflowUrl(), name)
    yield* Effect.all([
      Assessment.logFeedback({ traceId: ids[2], name: "rating", value: "good", source: { sourceType: "HUMAN" } }),
      Assessment.logFeedback({ traceId: ids[7], name: "rating", value: "bad", source: { sourceType: "HUMAN" } })
    ])
    return { name, ids, start, middle, expId }
  })
)

const url = () => mlflowUrl()

layer(Layer.provideMerge(PopulationLive, client(mlflowUrl())), { excludeTestServices: true })(
  "search, read, delete, tags and assessments on a real MLflow server",
  (it) => {
    it.effect("returns the same traces as MLflow's Python search_traces for 18 filters", () =>
      Effect.gen(function*() {
        const { expId, ids, middle, name, start } = yield* Population
        const filters: Array<string> = [
          F.render(F.and(F.status.eq("OK"))),
          F.render(F.and(F.status.eq("ERROR"))),
          F.render(F.and(F.user.eq("u1"))),
          F.render(F.and(F.session.eq("s0"))),
          F.render(F.and(F.user.eq("u2"), F.session.eq("s1"))),
          F.render(F.and(F.tag("env").eq("prod"))),
          F.render(F.and(F.tag("env").like("pr%"))),
          F.render(F.and(F.tag("env").ilike("DEV"))),
          F.render(F.and(F.name.eq("batch"))),
          F.render(F.and(F.name.ne("batch"), F.status.eq("OK"))),
          F.render(F.and(F.clientRequestId.eq("req-3"))),
          F.render(F.and(F.timestamp.gte(start), F.timestamp.lt(middle))),
          F.render(F.and(F.executionTime.gt(30))),
          F.render(F.and(F.span.name.eq("retrieve"))),
          F.render(F.and(F.span.type.eq("CHAT_MODEL"), F.status.eq("ERROR"))),
          F.render(F.and(F.feedback("rating").eq("good"))),
          F.render(F.and(F.clientRequestId.in(["req-1", "req-2", "req-4"]), F.user.ne("u0"))),
          "tags.`mlflow.traceName` = 'chat' AND metadata.`mlflow.trace.session` = 's1'"
        ]
        const ours = yield* run(
          url(),
          Effect.forEach(filters, (filter) =>
            Effect.map(
              Search.searchTraces({ experimentNames: [name], filter, maxResults: 100, includeSpans: false }),
              (page) => page.traces.map((t) => t.info.traceId).sort()
            ))
        )
        const theirs: Array<Array<string>> = yield* python(
          `
import json, mlflow
filters = json.loads(${JSON.stringify(JSON.stringify(filters))})
out = []
for f in filters:
    traces = mlflow.search_traces(locations=[${JSON.stringify(expId)}], filter_string=f, return_type="list",
                                  include_spans=False, max_results=1000)
    out.append(sorted(t.info.trace_id for t in traces))
print(json.dumps(out))
`,
          { MLFLOW_TRACKING_URI: url() }
        )
        filters.forEach((filter, i) => expect(ours[i], filter).toEqual(theirs[i]))
        const sizes = theirs.map((found) => found.length)
        expect(sizes.filter((n) => n > 0 && n < 10).length).toBeGreaterThanOrEqual(15)
        expect(ours[1].sort()).toEqual([ids[3], ids[7]].sort())
        expect(ours[10]).toEqual([ids[3]])
      }))

    it.effect("pages through every trace with a Stream, with spans, bigint-exact", () =>
      Effect.gen(function*() {
        const { expId, ids } = yield* Population
        const all = yield* run(url(), Stream.runCollect(Search.stream({ experimentIds: [expId], maxResults: 3 })))
        const traces = [...all]
        expect(traces.map((t) => t.info.traceId).sort()).toEqual([...ids].sort())
        const chat = traces.find((t) => t.info.traceId === ids[2])!
        expect(chat.spans.map((s) => s.name)).toEqual(["chat", "retrieve", "generate"])
        expect(typeof chat.spans[0].startTimeUnixNano).toBe("bigint")
        expect(chat.spans[0].startTimeUnixNano > 1_700_000_000_000_000_000n).toBe(true)
        expect(chat.info.assessments.map((a) => a.feedback?.value)).toEqual(["good"])
      }))

    it.effect("rejects a bad filter before any request, pointing at the token", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Search.searchTraces({ experimentIds: ["0"], filter: "attributes.status = 'OK' OR tags.x = 'y'" })
        )
          .pipe(
            Effect.provide(MlflowClient.layerConfigFetch({ trackingUri: "http://127.0.0.1:9" }))
          )
        expect(error._tag).toBe("SearchFilterError")
        expect((error as F.SearchFilterError).token).toBe("OR")
      }))

    it.effect("reads traces from the tracking store and from the traces.json artifact", () =>
      Effect.gen(function*() {
        const { ids } = yield* Population
        const fallbackName = uniqueName("read-fallback")
        const fallbackId = yield* traced(
          flaskOnlyUrl(),
          fallbackName,
          Effect.zipRight(
            Effect.succeed({ answer: 42n }).pipe(Mlflow.span("artifact", { spanType: "TOOL", inputs: { q: 1 } })),
            Effect.map(Mlflow.lastTraceId, Option.getOrThrow)
          )
        )
        const fromArtifact = yield* run(flaskOnlyUrl(), Search.getTrace(fallbackId))
        expect(fromArtifact.info.tags["mlflow.trace.spansLocation"]).not.toBe("TRACKING_STORE")
        expect(fromArtifact.spans.map((s) => [s.name, s.attributes["mlflow.spanType"]])).toEqual([["artifact", "TOOL"]])
        expect(fromArtifact.spans[0].attributes["mlflow.spanOutputs"]).toEqual({ answer: "42" })
        const fromStore = yield* run(url(), Search.getTrace(ids[0]))
        expect(fromStore.spans[0].attributes["mlflow.spanType"]).toBe("CHAIN")
        expect(fromStore.info.tags["mlflow.trace.spansLocation"]).toBe("TRACKING_STORE")
      }))

    it.effect("sets and deletes tags on active, just-finished and stored traces", () =>
      Effect.gen(function*() {
        const { ids } = yield* Population
        const tagName = uniqueName("tags")
        const [activeId, queuedId] = yield* Effect.gen(function*() {
          const active = yield* Effect.gen(function*() {
            const id = Option.getOrThrow(yield* Mlflow.currentTraceId)
            yield* Mlflow.setTraceTag(id, "phase", "active")
            return id
          }).pipe(Effect.withSpan("active"))
          // right after the root ends: waiting in the queue or being exported
          yield* Effect.void.pipe(Effect.withSpan("queued"))
          const queued = Option.getOrThrow(yield* Mlflow.lastTraceId)
          yield* Mlflow.setTraceTag(queued, "phase", "queued")
          return [active, queued]
        }).pipe(
          Effect.provide(Layer.merge(
            MlflowTracing.layer({ trackingUri: url(), experimentName: tagName }),
            client(url())
          ))
        )
        yield* run(
          url(),
          Effect.all([Mlflow.setTraceTag(ids[0], "reviewed", "yes"), Mlflow.deleteTraceTag(activeId, "phase")])
        )
        const [active, queued, stored] = yield* pythonGetTraces(url(), [activeId, queuedId, ids[0]])
        expect(active.info.tags.phase).toBeUndefined()
        expect(active.info.tags["mlflow.traceName"]).toBe("active")
        expect(queued.info.tags.phase).toBe("queued")
        expect(stored.info.tags.reviewed).toBe("yes")
      }))

    it.effect("logs, reads, updates, overrides and deletes assessments", () =>
      Effect.gen(function*() {
        const { ids } = yield* Population
        const spanId = (yield* run(url(), Search.getTrace(ids[4]))).spans[1].spanId
        const [feedback, expectation, failed] = yield* run(
          url(),
          Effect.all([
            Assessment.logFeedback({
              traceId: ids[4],
              name: "helpfulness",
              value: 3,
              rationale: "mostly right",
              source: { sourceType: "LLM_JUDGE", sourceId: "judge-1" },
              metadata: { model: "judge-v1" },
              spanId
            }),
            Assessment.logExpectation({ traceId: ids[4], name: "expected_answer", value: { text: "four" } }),
            Assessment.logFeedback({ traceId: ids[4], name: "toxicity", error: new Error("judge timed out") })
          ])
        )
        expect(feedback.assessmentId).toMatch(/^a-/)
        const read = yield* run(url(), Assessment.getAssessment(ids[4], feedback.assessmentId))
        expect(read).toMatchObject({
          name: "helpfulness",
          spanId,
          rationale: "mostly right",
          metadata: { model: "judge-v1" }
        })
        expect(read.feedback?.value).toBe(3)
        expect(read.source).toEqual({ sourceType: "LLM_JUDGE", sourceId: "judge-1" })
        const updated = yield* run(
          url(),
          Assessment.updateAssessment(ids[4], feedback.assessmentId, { value: 4, rationale: "right" })
        )
        expect(updated.feedback?.value).toBe(4)
        const override = yield* run(
          url(),
          Assessment.overrideFeedback({
            traceId: ids[4],
            assessmentId: feedback.assessmentId,
            value: 5,
            rationale: "human says"
          })
        )
        expect(override.overrides).toBe(feedback.assessmentId)
        yield* run(url(), Assessment.deleteAssessment(ids[4], expectation.assessmentId))
        const [trace] = yield* pythonGetTraces(url(), [ids[4]])
        const byId = Object.fromEntries(trace.info.assessments.map((a: any) => [a.assessment_id, a]))
        expect(byId[feedback.assessmentId].valid).toBe(false)
        expect(byId[feedback.assessmentId].feedback.value).toBe(4)
        expect(byId[override.assessmentId].feedback.value).toBe(5)
        expect(byId[override.assessmentId].valid ?? true).toBe(true)
        expect(byId[expectation.assessmentId]).toBeUndefined()
        expect(byId[failed.assessmentId].feedback.error.error_message).toBe("judge timed out")
      }))

    it.effect("deletes traces by id, and older than a time with a cap, oldest first", () =>
      Effect.gen(function*() {
        const retention = uniqueName("retention")
        const made: Array<string> = []
        yield* traced(
          url(),
          retention,
          Effect.forEach([0, 1, 2, 3, 4], (i) =>
            Effect.zipRight(
              Effect.sleep(5).pipe(Effect.withSpan(`t${i}`)),
              Effect.map(Mlflow.lastTraceId, (id) => made.push(Option.getOrThrow(id)))
            ), { discard: true })
        )
        const id = yield* experimentIdByName(url(), retention)
        expect(yield* run(url(), Search.deleteTraces({ experimentId: id, traceIds: [made[4]] }))).toBe(1)
        expect(yield* run(url(), Search.deleteTraces({ experimentId: id, olderThan: new Date(), maxTraces: 2 }))).toBe(
          2
        )
        const left = yield* run(
          url(),
          Effect.map(
            Search.searchTraces({ experimentIds: [id], includeSpans: false }),
            (page) => page.traces.map((t) => t.info.traceId).sort()
          )
        )
        expect(left).toEqual([made[2], made[3]].sort())
      }))
  }
)
