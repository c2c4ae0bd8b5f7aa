/**
 * The real MLflow tracking server for integration tests: installs the pinned MLflow into a cached
 * virtualenv outside the repository (once), starts servers on free loopback ports with a temporary
 * SQLite store and served artifacts, and runs MLflow's Python client.
 */
import { execFile, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cacheRoot, stopGroup, withLock } from "./processes.js"

export const MLFLOW_VERSION = "3.18"
const here = path.dirname(fileURLToPath(import.meta.url))

export const venvDir = (): string => path.join(cacheRoot(), `mlflow-${MLFLOW_VERSION}`)
export const pythonBin = (): string => path.join(venvDir(), "bin", "python")
const mlflowBin = (): string => path.join(venvDir(), "bin", "mlflow")
const readyMarker = (): string => path.join(venvDir(), ".effect-mlflow-ready")

const run = (command: string, args: ReadonlyArray<string>): boolean => {
  const result = spawnSync(command, args, { stdio: "inherit" })
  return result.status === 0
}

const installedVersion = (): string | undefined => {
  if (!fs.existsSync(readyMarker())) return undefined
  const result = spawnSync(pythonBin(), ["-c", "import mlflow; print(mlflow.__version__)"], { encoding: "utf8" })
  return result.status === 0 ? result.stdout.trim() : undefined
}

/**
 * Makes sure the pinned MLflow is installed. The plain `pip install mlflow==3.18.*` is tried first;
 * when the registry lacks the matching `mlflow-skinny`/`mlflow-tracing` (the `mlflow` wheel already
 * contains the whole package), the dependencies are installed from `mlflow-requirements.txt` and
 * `mlflow` itself with `--no-deps`.
 */
export const ensureMlflow = (): void => {
  ensureMlflowItself()
  ensureExtras()
}

const ensureMlflowItself = (): void => {
  if (installedVersion()?.startsWith(`${MLFLOW_VERSION}.`)) return
  withLock(`${venvDir()}.lock`, () => {
    if (installedVersion()?.startsWith(`${MLFLOW_VERSION}.`)) return
    console.log(`Installing MLflow ${MLFLOW_VERSION} into ${venvDir()} (once)...`)
    fs.rmSync(venvDir(), { recursive: true, force: true })
    if (!run("python3", ["-m", "venv", venvDir()])) throw new Error("python3 -m venv failed")
    const pip = path.join(venvDir(), "bin", "pip")
    run(pip, ["install", "-q", "--upgrade", "pip"])
    const ok = run(pip, ["install", "-q", `mlflow==${MLFLOW_VERSION}.*`]) ||
      (run(pip, ["install", "-q", "-r", path.join(here, "mlflow-requirements.txt")]) &&
        run(pip, ["install", "-q", "--no-deps", `mlflow==${MLFLOW_VERSION}.*`]))
    if (!ok) throw new Error(`could not install mlflow==${MLFLOW_VERSION}.*`)
    fs.writeFileSync(readyMarker(), new Date().toISOString())
  })
}

/**
 * What the tests need beside MLflow: `mlflow[auth]`'s Flask-WTF (the basic-auth app), botocore (the judge of
 * SigV4 signatures). Installed into
 * an existing virtualenv too, once per version of this list.
 */
const EXTRAS = ["Flask-WTF<2", "botocore<2"]
const extrasMarker = (): string =>
  path.join(venvDir(), `.effect-mlflow-extras-${EXTRAS.join(",").replace(/[^\w.,-]/g, "_")}`)

const ensureExtras = (): void => {
  if (fs.existsSync(extrasMarker())) return
  withLock(`${venvDir()}.lock`, () => {
    if (fs.existsSync(extrasMarker())) return
    if (!run(path.join(venvDir(), "bin", "pip"), ["install", "-q", ...EXTRAS])) {
      throw new Error(`could not install ${EXTRAS.join(" ")}`)
    }
    fs.writeFileSync(extrasMarker(), new Date().toISOString())
  })
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      server.close(() => resolve(address.port))
    })
  })

export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly dir: string
  /** the server's process group (its workers included), for CPU accounting */
  readonly pid: number
  readonly stop: () => Promise<void>
}

export interface ServerOptions {
  /** Flask only (no FastAPI, so no `/v1/traces`): the artifact fallback path */
  readonly flaskOnly?: boolean
  readonly port?: number
  readonly dir?: string
  /** a SQLAlchemy URI (PostgreSQL, see `postgres.ts`); default a fresh SQLite file */
  readonly backendStoreUri?: string
  /** server worker processes; default 1 */
  readonly workers?: number
  /** `--enable-workspaces` */
  readonly workspaces?: boolean
  /** `false`: `--no-serve-artifacts`, artifacts in a local directory that only the server can write */
  readonly serveArtifacts?: boolean
  /** more environment for the server process */
  readonly env?: Readonly<Record<string, string>>
  /** MLflow's `basic-auth` app, its user store in `dir`, with this admin password (user `admin`) */
  readonly basicAuth?: { readonly adminPassword: string }
}

const waitForHealth = async (url: string, timeoutMs: number, log: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`)
      if (response.ok) return
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`MLflow server at ${url} did not become healthy in ${timeoutMs} ms; log: ${log}`)
}

/** Starts `mlflow server` on a free loopback port with a temporary SQLite store. */
export const startServer = async (options: ServerOptions = {}): Promise<RunningServer> => {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-server-"))
  const port = options.port ?? await freePort()
  const log = path.join(dir, `server-${port}.log`)
  const out = fs.openSync(log, "a")
  const args = [
    "server",
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--backend-store-uri",
    options.backendStoreUri ?? `sqlite:///${path.join(dir, "mlflow.db")}`,
    ...(options.serveArtifacts === false
      ? ["--no-serve-artifacts", "--default-artifact-root", path.join(dir, "artifacts")]
      : ["--artifacts-destination", path.join(dir, "artifacts"), "--serve-artifacts"]),
    "--workers",
    String(options.workers ?? 1)
  ]
  if (options.flaskOnly) args.push("--gunicorn-opts", "--log-level=warning")
  if (options.workspaces) args.push("--enable-workspaces")
  const auth: Record<string, string> = {}
  if (options.basicAuth !== undefined) {
    const ini = path.join(dir, "basic_auth.ini")
    fs.writeFileSync(
      ini,
      [
        "[mlflow]",
        "default_permission = READ",
        `database_uri = sqlite:///${path.join(dir, "basic_auth.db")}`,
        "admin_username = admin",
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
        ""
      ].join("\n")
    )
    args.push("--app-name", "basic-auth")
    Object.assign(auth, {
      MLFLOW_AUTH_CONFIG_PATH: ini,
      MLFLOW_AUTH_ADMIN_PASSWORD: options.basicAuth.adminPassword,
      MLFLOW_FLASK_SERVER_SECRET_KEY: "effect-mlflow-test-only"
    })
  }
  const child = spawn(mlflowBin(), args, {
    cwd: dir,
    detached: true,
    stdio: ["ignore", out, out],
    env: {
      ...process.env,
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
      MLFLOW_TRACKING_URI: "",
      ...auth,
      ...options.env
    }
  })
  fs.closeSync(out)
  const url = `http://127.0.0.1:${port}`
  const stop = () => stopGroup(child)
  try {
    await waitForHealth(url, 120_000, log)
  } catch (error) {
    await stop()
    throw error
  }
  return { url, port, dir, pid: child.pid!, stop }
}

/** CPU seconds (user + system) used so far by the processes of the server's process group (Linux). */
export const serverCpuSeconds = (server: RunningServer): number => {
  const ticks = 100 // USER_HZ on Linux
  let total = 0
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      // fields from the state (3rd in proc(5)): pgrp is 5th, utime 14th, stime 15th
      if (Number(fields[2]) === server.pid) total += Number(fields[11]) + Number(fields[12])
    } catch {
      // the process ended meanwhile
    }
  }
  return total / ticks
}

/**
 * Runs a Python script with MLflow's client against `trackingUri`; the script's last stdout line
 * must be JSON, which is returned.
 */
export const python = (script: string, env: Readonly<Record<string, string>> = {}): Promise<any> =>
  new Promise((resolve, reject) => {
    execFile(
      pythonBin(),
      ["-c", script],
      {
        env: { ...process.env, PYTHONWARNINGS: "ignore", MLFLOW_ENABLE_ASYNC_TRACE_LOGGING: "false", ...env },
        maxBuffer: 256 * 1024 * 1024,
        timeout: 180_000
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`python failed: ${error.message}\n${stderr}`))
        const lines = stdout.trim().split("\n")
        try {
          resolve(JSON.parse(lines[lines.length - 1]))
        } catch {
          reject(new Error(`python printed no JSON:\n${stdout}\n${stderr}`))
        }
      }
    )
  })

/** `mlflow.get_trace(id).to_dict()` for each id, read by MLflow's Python client. */
export const pythonGetTraces = (trackingUri: string, ids: ReadonlyArray<string>): Promise<Array<any>> =>
  python(
    `
import json, sys, mlflow
ids = json.loads(sys.argv[1]) if len(sys.argv) > 1 else ${JSON.stringify(ids)}
out = []
for i in ids:
    t = mlflow.get_trace(i)
    out.append(None if t is None else t.to_dict())
print(json.dumps(out))
`,
    { MLFLOW_TRACKING_URI: trackingUri }
  )
