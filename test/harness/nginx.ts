/**
 * Debian's `nginx` (installed with apt when missing) in front of a real MLflow server, with a
 * throw-away certificate authority made by `openssl`: a TLS listener, one that requires a client
 * certificate, and a plain one that serves the server under a path prefix.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { freePort } from "./mlflow.js"
import { aptInstall, stopGroup } from "./processes.js"

const NGINX = "/usr/sbin/nginx"

/** The token the `bearerUrl` listener requires. */
export const BEARER_TOKEN = "tok-PLANTED-bearer-7"

const run = (command: string, args: ReadonlyArray<string>, cwd?: string) => {
  const result = spawnSync(command, args, { encoding: "utf8", cwd })
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`)
  }
  return result.stdout
}

/** Installs Debian's nginx when missing (as root, with apt). */
export const ensureNginx = (): void => aptInstall("nginx", () => fs.existsSync(NGINX))

/** The files of a throw-away PKI: PEM paths. */
export interface Pki {
  /** the CA that signed the server's and the client's certificates */
  readonly ca: string
  /** a CA that signed nothing here */
  readonly otherCa: string
  readonly serverCert: string
  readonly serverKey: string
  /** the client's certificate and key in one file (as MLflow's `MLFLOW_TRACKING_CLIENT_CERT_PATH` takes it) */
  readonly client: string
  /** a client certificate of the other CA, with its key */
  readonly strangerClient: string
}

const makeCa = (dir: string, name: string) => {
  run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=effect-mlflow test ${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`
  ], dir)
}

const issue = (dir: string, ca: string, name: string, subject: string, extensions: string) => {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions)
  run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    subject,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`
  ], dir)
  run("openssl", [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`
  ], dir)
}

/** A CA, a server certificate for 127.0.0.1 and localhost, client certificates. */
export const makePki = (): Pki => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-pki-"))
  makeCa(dir, "ca")
  makeCa(dir, "other-ca")
  issue(
    dir,
    "ca",
    "server",
    "/CN=127.0.0.1",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
  )
  issue(dir, "ca", "client", "/CN=effect-mlflow client", "extendedKeyUsage=clientAuth\n")
  issue(dir, "other-ca", "stranger", "/CN=stranger", "extendedKeyUsage=clientAuth\n")
  const bundle = (name: string) => {
    const file = path.join(dir, `${name}-bundle.pem`)
    fs.writeFileSync(
      file,
      fs.readFileSync(path.join(dir, `${name}.pem`), "utf8") + fs.readFileSync(path.join(dir, `${name}.key`), "utf8")
    )
    return file
  }
  return {
    ca: path.join(dir, "ca.pem"),
    otherCa: path.join(dir, "other-ca.pem"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
    client: bundle("client"),
    strangerClient: bundle("stranger")
  }
}

export interface RunningNginx {
  /** TLS, the server's certificate from `pki.ca` */
  readonly tlsUrl: string
  /** TLS that requires a client certificate of `pki.ca` */
  readonly mutualTlsUrl: string
  /** plain HTTP, the MLflow server under `/mlflow` */
  readonly prefixedUrl: string
  /** plain HTTP that answers 401 unless `Authorization: Bearer <BEARER_TOKEN>` */
  readonly bearerUrl: string
  readonly stop: () => Promise<void>
}

const listening = async (port: number, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`nginx did not listen on ${port} in ${timeoutMs} ms`)
}

/**
 * nginx in front of the MLflow server at `upstream` (`http://127.0.0.1:<port>`). A free port can be
 * taken by another test's server before nginx binds it (then something else answers there): nginx
 * exits, and is started again on other ports.
 */
export const startNginx = async (upstream: string, pki: Pki): Promise<RunningNginx> => {
  ensureNginx()
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(upstream, pki)
    } catch (error) {
      if (attempt >= 3) throw error
    }
  }
}

const startOnce = async (upstream: string, pki: Pki): Promise<RunningNginx> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-mlflow-nginx-"))
  const [tls, mutual, prefixed, bearer] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const proxy = `
      proxy_pass ${upstream}/;
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_read_timeout 300s;`
  const certificate = `
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};`
  fs.writeFileSync(
    path.join(dir, "nginx.conf"),
    `${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_max_body_size 200m;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${tls} ssl;${certificate}
    location / {${proxy}
    }
  }
  server {
    listen 127.0.0.1:${mutual} ssl;${certificate}
    ssl_client_certificate ${pki.ca};
    ssl_verify_client on;
    location / {${proxy}
    }
  }
  server {
    listen 127.0.0.1:${prefixed};
    location /mlflow/ {${proxy}
    }
  }
  server {
    listen 127.0.0.1:${bearer};
    location / {
      if ($http_authorization != "Bearer ${BEARER_TOKEN}") {
        return 401 "bearer token required";
      }${proxy}
    }
  }
}
`
  )
  const child = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-g", "daemon off;"], {
    detached: true,
    stdio: ["ignore", "ignore", fs.openSync(path.join(dir, "stderr.log"), "a")]
  })
  const stop = () => stopGroup(child)
  try {
    await Promise.all([tls, mutual, prefixed, bearer].map((port) => listening(port, 20_000)))
    // still running, so the ports are its own (nginx exits when a bind fails)
    await new Promise((resolve) => setTimeout(resolve, 300))
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("nginx exited after starting")
  } catch (error) {
    await stop()
    const log = [path.join(dir, "stderr.log"), path.join(dir, "error.log")].filter(fs.existsSync)
      .map((file) => fs.readFileSync(file, "utf8")).join("\n")
    throw new Error(`${String(error)}; nginx said: ${log}`)
  }
  return {
    tlsUrl: `https://127.0.0.1:${tls}`,
    mutualTlsUrl: `https://127.0.0.1:${mutual}`,
    prefixedUrl: `http://127.0.0.1:${prefixed}/mlflow`,
    bearerUrl: `http://127.0.0.1:${bearer}`,
    stop
  }
}
