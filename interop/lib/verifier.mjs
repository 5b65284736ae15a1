// Starts `segl verifier serve` on a free loopback port with a fresh data directory, and talks to
// its shop-backend API (transactions, status) with the API token.
import { mkdtemp, readFile, readdir } from 'node:fs/promises'
import { X509Certificate, randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, spawnSegl } from './segl.mjs'

/** Every PEM certificate file under `dir`, as `{ path, pem, certificate }`. */
async function certificatesUnder(dir) {
  const found = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.pem')) continue
    const path = join(entry.parentPath ?? entry.path, entry.name)
    const pem = await readFile(path, 'utf8')
    if (!pem.includes('BEGIN CERTIFICATE')) continue
    found.push({ path, pem, certificate: new X509Certificate(pem) })
  }
  return found
}

/**
 * A running `segl verifier serve` trusting the issuer CAs in `trustAnchors` (PEM paths). Its
 * public URL is `http://localhost:<port>` (the dev access certificate's dNSName is the host, and
 * OpenID4VP's x509_san_dns prefix wants the response_uri on that host). `accessCertificates` are
 * the certificates the service made in its data directory at first start: a wallet trusts them
 * explicitly, as nothing else vouches for a development access certificate.
 */
export async function startVerifier({ trustAnchors }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'segl-verifier-interop-'))
  const port = await freePort()
  const baseUrl = `http://localhost:${port}`
  const apiToken = randomBytes(24).toString('base64url')
  const { output, stop } = await spawnSegl({
    args: [
      'verifier',
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--public-url',
      baseUrl,
      ...trustAnchors.flatMap((path) => ['--trust-anchor', path]),
    ],
    extraEnv: { SEGL_VERIFIER_API_TOKEN: apiToken },
    healthUrl: `${baseUrl}/health`,
    dataDir,
    name: 'segl verifier serve',
  })
  // A wallet trusts Access CAs: the development one the service made (`access-ca.pem`), or,
  // failing that, the access certificate for DNS:localhost itself.
  const certificates = await certificatesUnder(dataDir)
  const accessCa = certificates.filter(({ path, certificate }) => path.endsWith('access-ca.pem') && certificate.ca)
  const accessLeaf = certificates.filter(({ certificate }) =>
    (certificate.subjectAltName ?? '').split(', ').includes('DNS:localhost'),
  )
  const accessCertificates = accessCa.length > 0 ? accessCa : accessLeaf
  if (accessCertificates.length === 0) {
    await stop()
    throw new Error(`segl verifier serve wrote no access CA or DNS:localhost certificate in ${dataDir}`)
  }

  /** A fetch with the API token; returns `{ status, body }` (body parsed as JSON when it is). */
  async function api(method, url, body) {
    const headers = { authorization: `Bearer ${apiToken}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(new URL(url, baseUrl), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    let parsed = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers }
  }

  return {
    baseUrl,
    apiToken,
    accessCertificates: accessCertificates.map(({ pem }) => pem),
    output,
    stop,
    api,
    /** POST /verifier/v1/transactions; returns the 201 body. */
    async createTransaction(body) {
      const { status, body: created } = await api('POST', '/verifier/v1/transactions', body)
      if (status !== 201) throw new Error(`transaction creation answered ${status}: ${JSON.stringify(created)}`)
      return created
    },
    /** GET status_url with the token; returns the 200 body. */
    async status(statusUrl) {
      const { status, body } = await api('GET', statusUrl)
      if (status !== 200) throw new Error(`status answered ${status}: ${JSON.stringify(body)}`)
      return body
    },
  }
}

/** POSTs `form` (an object; non-string values as JSON) to `url` form-encoded, as a wallet does. */
export async function postForm(url, form) {
  const body = new URLSearchParams()
  for (const [name, value] of Object.entries(form)) {
    if (value !== undefined) body.append(name, typeof value === 'string' ? value : JSON.stringify(value))
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })
  const text = await response.text()
  let parsed = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed }
}

/** Fetches a request object by reference with a plain GET and returns its header and payload (unchecked). */
export async function fetchRequestObject(requestUri) {
  const response = await fetch(requestUri, { headers: { accept: 'application/oauth-authz-req+jwt' } })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`request_uri answered ${response.status}: ${text}`)
  const [header, payload] = text.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))
  return { jwt: text, header, payload, contentType: response.headers.get('content-type') }
}
