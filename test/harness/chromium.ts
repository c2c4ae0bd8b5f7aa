/**
 * Headless Chromium for the UI check: Debian's `chromium` package, installed by the test set-up
 * when missing (the machines run as root with apt).
 */
import { spawnSync } from "node:child_process"

const present = (): boolean => spawnSync("chromium", ["--version"], { stdio: "ignore" }).status === 0

/** Makes sure `chromium` is on the PATH, installing Debian's package if needed; throws if it cannot. */
export const ensureChromium = (): void => {
  if (present()) return
  console.log("Installing Debian's chromium for the UI check (once)...")
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env })
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env })
  if (install.status !== 0 || !present()) {
    throw new Error("could not install Debian's chromium (apt-get install chromium)")
  }
}
