/**
 * A real OpenTelemetry Collector for integration tests, built from the collector's official Go
 * modules (`test/harness/collector`, every collector module at one release) into a cache outside the
 * repository, once; started per test with an OTLP receiver (HTTP and gRPC), the batch processor, a
 * file exporter (what it received, as OTLP/JSON lines) and an OTLP/HTTP exporter to MLflow.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./mlflow.js"
import { cacheRoot, stopGroup, withLock } from "./processes.js"

export const COLLECTOR_RELEASE = "0.161.0"
const here = path.dirname(fileURLToPath(import.meta.url))
const buildDir = (): string => path.join(cacheRoot(), `otelcol-${COLLECTOR_RELEASE}`)
export const collectorBin = (): string => path.join(buildDir(), "otelcol")

const sourceStamp = (): string =>
  ["main.go", "go.mod", "go.sum"].map((file) => fs.readFileSync(path.join(here, "collector", file), "utf8")).join("\0")

/** Builds the collector unless the cached binary was built from the same sources. */
export const ensureCollector = (): string => {
  const stamp = path.join(buildDir(), "sources")
  const current = sourceStamp()
  const built = () =>
    fs.existsSync(collectorBin()) && fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === current
  if (built()) return collectorBin()
  return withLock(`${buildDir()}.lock`, () => {
    if (built()) return collectorBin()
    console.log(`Building the OpenTelemetry Collector ${COLLECTOR_RELEASE} into ${buildDir()} (once)...`)
    fs.mkdirSync(buildDir(), { recursive: true })
    const result = spawnSync("go", ["build", "-o", collectorBin(), "."], {
      cwd: path.join(here, "collector"),
      stdio: "inherit",
      env: {
        ...process.env,
        GOPATH: path.join(cacheRoot(), "go"),
        GOCACHE: path.join(cacheRoot(), "go-build"),
        GOFLAGS: "-mod=mod",
        CGO_ENABLED: "0"
      }
    })
    if (result.status !== 0) throw new Error("go build of the test collector failed")
    fs.writeFileSync(stamp, current)
    return collectorBin()
  })
}

export interface RunningCollector {
  /** base URL of the OTLP/HTTP receiver (`/v1/traces` under it) */
  readonly httpUrl: string
  /** `http://host:port` of the OTLP/gRPC receiver */
  readonly grpcUrl: string
  /** every `ExportTraceServiceRequest` the collector received and passed on, as OTLP/JSON */
  readonly received: () => Array<any>
  /** the spans received so far, flattened, each with its resource attributes */
  readonly spans: () => Array<any>
  /** the spans of one trace, once `count` have arrived (or what has, after 30 seconds) */
  readonly spansOf: (otelTraceId: string, count: number) => Promise<Array<any>>
  readonly log: () => string
  readonly stop: () => Promise<void>
}

export interface CollectorOptions {
  /** forward to this MLflow server's `/v1/traces`, into this experiment */
  readonly mlflow?: { readonly url: string; readonly experimentId: string }
  /** the gRPC receiver over TLS with this certificate (then `grpcUrl` is `https://`) */
  readonly grpcTls?: { readonly certFile: string; readonly keyFile: string }
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/**
 * The requests of the file exporter's output, one JSON document per line: a last line without its
 * newline is one the collector is still writing, left for the next read.
 */
export const completeJsonLines = (text: string): Array<any> =>
  text.split("\n").slice(0, -1).filter((line) => line.trim() !== "").map((line) => JSON.parse(line))

export const startCollector = async (options: CollectorOptions = {}): Promise<RunningCollector> => {
  const bin = ensureCollector()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-collector-"))
  const [httpPort, grpcPort] = [await freePort(), await freePort()]
  const file = path.join(dir, "received.jsonl")
  const exporters = ["file"]
  const mlflowExporter = options.mlflow === undefined ? "" : `
  otlp_http/mlflow:
    traces_endpoint: ${options.mlflow.url}/v1/traces
    headers:
      x-mlflow-experiment-id: "${options.mlflow.experimentId}"
    compression: none
    retry_on_failure:
      enabled: true
      initial_interval: 200ms`
  if (options.mlflow !== undefined) exporters.push("otlp_http/mlflow")
  const config = `
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}${
    options.grpcTls === undefined ? "" : `
        tls:
          cert_file: ${options.grpcTls.certFile}
          key_file: ${options.grpcTls.keyFile}`
  }
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  batch:
    timeout: 100ms
exporters:
  file:
    path: ${file}
    flush_interval: 100ms${mlflowExporter}
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [${exporters.join(", ")}]
`
  const configFile = path.join(dir, "config.yaml")
  fs.writeFileSync(configFile, config)
  const logFile = path.join(dir, "collector.log")
  const out = fs.openSync(logFile, "a")
  const child = spawn(bin, ["--config", `file:${configFile}`], { stdio: ["ignore", out, out], detached: true })
  fs.closeSync(out)
  const log = () => fs.readFileSync(logFile, "utf8")
  const stop = () => stopGroup(child)
  const deadline = Date.now() + 30_000
  while (!(await portOpen(httpPort) && await portOpen(grpcPort))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(`the collector did not start; its log:\n${log()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const received = () => fs.existsSync(file) ? completeJsonLines(fs.readFileSync(file, "utf8")) : []
  const spans = () =>
    received().flatMap((request) =>
      (request.resourceSpans ?? []).flatMap((resourceSpans: any) =>
        (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans: any) =>
          (scopeSpans.spans ?? []).map((span: any) => ({
            ...span,
            resource: Object.fromEntries(
              (resourceSpans.resource?.attributes ?? []).map((kv: any) => [kv.key, kv.value])
            ),
            scope: scopeSpans.scope?.name
          }))
        )
      )
    )
  const spansOf = async (otelTraceId: string, count: number) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const found = spans().filter((span) => span.traceId === otelTraceId)
      if (found.length >= count || Date.now() > deadline) return found
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  return {
    spansOf,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    grpcUrl: `${options.grpcTls === undefined ? "http" : "https"}://127.0.0.1:${grpcPort}`,
    received,
    spans,
    log,
    stop: async () => {
      await stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
