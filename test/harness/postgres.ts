/**
 * A throw-away PostgreSQL cluster on loopback for an MLflow server's backend store: Debian's
 * `postgresql` (installed with apt when missing), a cluster made with `initdb` in a temporary
 * directory (as the `postgres` user when run as root: PostgreSQL refuses to run as root), and
 * `psycopg2-binary` from PyPI in MLflow's virtualenv so the server can reach it.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { freePort, pythonBin, venvDir } from "./mlflow.js"
import { aptInstall } from "./processes.js"

const isRoot = (): boolean => process.getuid?.() === 0

const binDir = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  return newest === undefined ? undefined : path.join(root, newest, "bin")
}

const run = (command: string, args: ReadonlyArray<string>, asPostgres = false) => {
  const [cmd, argv] = asPostgres && isRoot() ? ["runuser", ["-u", "postgres", "--", command, ...args]] : [command, args]
  const result = spawnSync(cmd, argv, { encoding: "utf8" })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`)
  }
  return result.stdout
}

/** Whether PostgreSQL can be used here (installed, or installable with apt as root). */
export const postgresAvailable = (): boolean =>
  binDir() !== undefined || (isRoot() && spawnSync("apt-get", ["--version"]).status === 0)

/** Installs Debian's `postgresql` when missing, and `psycopg2-binary` into MLflow's virtualenv. */
export const ensurePostgres = (): void => {
  aptInstall("postgresql", () => binDir() !== undefined)
  const probe = spawnSync(pythonBin(), ["-c", "import psycopg2"])
  if (probe.status !== 0) {
    console.log(`Installing psycopg2-binary into ${venvDir()} (once)...`)
    run(path.join(venvDir(), "bin", "pip"), ["install", "-q", "psycopg2-binary"])
  }
}

export interface RunningPostgres {
  readonly port: number
  /** a new, empty database, as a SQLAlchemy URI for `mlflow server --backend-store-uri` */
  readonly createDatabase: (name: string) => string
  readonly stop: () => void
}

/**
 * The database `name` of the cluster on `port` as a SQLAlchemy URI, created when missing (a server
 * restarted on the same store finds its data again).
 */
export const databaseAt = (port: number, name: string): string => {
  const bin = binDir()
  if (bin === undefined) throw new Error("PostgreSQL is not installed")
  const psql = (sql: string) =>
    run(path.join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(port), "-U", "mlflow", "-d", "postgres", "-tAc", sql])
  if (psql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`).trim() !== "1") psql(`CREATE DATABASE "${name}"`)
  return `postgresql+psycopg2://mlflow@127.0.0.1:${port}/${name}`
}

/** Starts a fresh cluster on a free loopback port; `stop` ends it and removes its files. */
export const startPostgres = async (): Promise<RunningPostgres> => {
  const bin = binDir()
  if (bin === undefined) throw new Error("PostgreSQL is not installed: call ensurePostgres() first")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-pg-"))
  if (isRoot()) run("chown", ["postgres:postgres", dir])
  const data = path.join(dir, "data")
  const port = await freePort()
  run(path.join(bin, "initdb"), ["-D", data, "-U", "mlflow", "--auth=trust", "-E", "UTF8", "--no-sync"], true)
  run(path.join(bin, "pg_ctl"), [
    "-D",
    data,
    "-l",
    path.join(dir, "postgres.log"),
    "-o",
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c max_connections=200`,
    "-w",
    "start"
  ], true)
  return {
    port,
    createDatabase: (name) => databaseAt(port, name),
    stop: () => {
      try {
        run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"], true)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
