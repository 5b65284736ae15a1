// Starts `segl serve` as a child process on a free loopback port with a fresh data directory, and
// talks to its admin API. Everything a test needs to reach the issuer from the outside.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'

const here = fileURLToPath(new URL('.', import.meta.url))

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer()
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => done(port))
    })
  })
}

/** The segl binary the tests run: SEGL_BIN, else the workspace's debug build. */
export function seglBin() {
  return process.env.SEGL_BIN ? resolve(process.env.SEGL_BIN) : resolve(here, '../../target/debug/segl')
}

/**
 * Spawns `segl <args>` with `extraEnv` (and no SEGL_* variable from the caller's shell: segl
 * refuses SEGL_ variables it does not know, and SEGL_BIN is ours), waits until `healthUrl` answers
 * 200, and returns `{ output, stop }`. `stop` ends the process and removes `dataDir`. The process
 * is killed when the test process exits, even without its hooks.
 */
export async function spawnSegl({ args, extraEnv = {}, healthUrl, dataDir, name = `segl ${args[0]}` }) {
  const bin = seglBin()
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SEGL_')))
  Object.assign(env, extraEnv)
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let spawnError
  child.once('error', (error) => (spawnError = error))

  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    await rm(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    if (spawnError) {
      await stop()
      throw new Error(`cannot start ${bin}: ${spawnError.message} (set SEGL_BIN)`)
    }
    if (child.exitCode !== null) {
      await stop()
      throw new Error(`${name} exited with ${child.exitCode}:\n${output}`)
    }
    try {
      const response = await fetch(healthUrl)
      if (response.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${name} did not answer ${healthUrl} within 30 s:\n${output}`)
    }
    await new Promise((done) => setTimeout(done, 100))
  }
  return { output: () => output, stop }
}

/**
 * A running `segl serve`. `baseUrl` is the public URL, `issuerId` the default tenant's credential
 * issuer identifier, `caPem` the tenant's development CA (the trust anchor for what it issues),
 * `caPath` its file, `dataDir` the data directory (for `segl` commands on the same deployment).
 * `configToml`, when given, is written beside the data and passed as `--config`.
 */
export async function startSegl({ configToml } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'segl-interop-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const adminToken = randomBytes(24).toString('base64url')
  const config = []
  if (configToml !== undefined) {
    const path = join(dataDir, 'segl.toml')
    await writeFile(path, configToml)
    config.push('--config', path)
  }
  const { output, stop } = await spawnSegl({
    args: ['serve', ...config, '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--public-url', baseUrl],
    extraEnv: { SEGL_ADMIN_TOKEN: adminToken },
    healthUrl: `${baseUrl}/health`,
    dataDir,
  })

  const caPath = join(dataDir, 'tenants/default/ca.pem')
  const caPem = await readFile(caPath, 'utf8')
  return {
    baseUrl,
    dataDir,
    issuerId: `${baseUrl}/default`,
    caPem,
    caPath,
    output,
    stop,
    /** POST /admin/v1/offers; returns the 201 body. */
    async createOffer(body) {
      const response = await fetch(`${baseUrl}/admin/v1/offers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify(body),
      })
      const text = await response.text()
      if (response.status !== 201) throw new Error(`offer creation answered ${response.status}: ${text}`)
      return JSON.parse(text)
    },
    /** Any admin API call with the admin token; returns `{ status, body }` (body parsed as JSON). */
    async admin(method, path, body) {
      const headers = { authorization: `Bearer ${adminToken}` }
      if (body !== undefined) headers['content-type'] = 'application/json'
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, body: text ? JSON.parse(text) : null }
    },
  }
}
