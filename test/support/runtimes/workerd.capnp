# workerd's configuration for the worker of `worker.ts` (bundled as `worker.js`); the test gives the
# socket's address (`--socket-addr http=127.0.0.1:<port>`). Outbound requests may go to loopback
# addresses (workerd's default network allows public ones only). From compatibility date 2026-08-04
# on, `nodejs_compat` is the default, so the `node:` modules the bundle names are there.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-23",
  globalOutbound = "loopback",
);
