// The verifier's shop page in headless Chromium (Debian's `chromium`, driven by playwright-core):
// the page loads and shows a QR code, a wallet script answers the same-device link with an age
// proof issued by a real `segl serve`, and the page shows "over 18: yes" and nothing else about
// the person. A screenshot is saved for the record.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { chromium } from 'playwright-core'
import { startSegl } from '../lib/segl.mjs'
import { startVerifier } from '../lib/verifier.mjs'
import { createPresentationWallet, issueCredential } from '../lib/openid4vp-wallet.mjs'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

// No browser download, ever: Debian's chromium, which scripts/test installs.
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/test does: apt-get install chromium)`)
}

const PID = {
  family_name: 'Nielsen',
  given_name: 'Freja',
  birth_date: '1990-04-12',
  birth_place: { locality: 'Aarhus', country: 'DK' },
  nationality: ['DK'],
  issuing_authority: 'Segl test',
  issuing_country: 'DK',
}

const segl = await startSegl()
after(() => segl.stop())
const verifier = await startVerifier({ trustAnchors: [segl.caPath] })
after(() => verifier.stop())
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
after(() => browser.close())

test('the age-check page: QR, a wallet answers the same-device link, the page shows yes', async () => {
  const ageProof = await issueCredential(segl, 'proof_of_age', PID)
  const wallet = createPresentationWallet({ held: [ageProof], trustedCertificates: verifier.accessCertificates })
  const page = await browser.newPage()
  const consoleErrors = []
  page.on('console', (message) => message.type() === 'error' && !message.location()?.url?.endsWith('/favicon.ico') && consoleErrors.push(message.text()))
  page.on('pageerror', (error) => consoleErrors.push(error.message))

  const loaded = await page.goto(`${verifier.baseUrl}/`)
  assert.equal(loaded.status(), 200)
  await page.locator('#qr svg, svg#qr').waitFor({ state: 'visible', timeout: 15_000 })
  const href = await page.locator('#same-device').getAttribute('href')
  assert.match(href ?? '', /^openid4vp:\/\/\?/, `#same-device href: ${href}`)
  const link = new URL(href)
  assert.equal(link.searchParams.get('client_id'), 'x509_san_dns:localhost')
  assert.ok(link.searchParams.get('request_uri')?.startsWith(`${verifier.baseUrl}/`))
  // The DC API button shows exactly where the browser has the Digital Credentials API (recent
  // Chromium has it, even headless; this test answers through the same-device link instead).
  const hasDcApi = await page.evaluate(() => typeof window.DigitalCredential === 'function')
  assert.equal(await page.locator('#dc-api').isVisible(), hasDcApi)
  assert.notEqual(await page.locator('#result').getAttribute('data-status'), 'yes')

  let answered
  try {
    answered = await wallet.answer(href)
  } catch (error) {
    error.message += `\nHTTP exchanges:\n  ${wallet.log.join('\n  ')}\nverifier output:\n${verifier.output()}`
    throw error
  }
  assert.equal(answered.response.status, 200, JSON.stringify(answered.response.body))
  assert.deepEqual(Object.keys(answered.vpToken), ['age_mdoc'])

  await page.waitForFunction(
    () => document.querySelector('#result')?.dataset.status === 'yes',
    undefined,
    { timeout: 20_000 },
  )
  const dir = await mkdtemp(join(tmpdir(), 'segl-verifier-page-'))
  const screenshot = join(dir, 'age-check-yes.png')
  await page.screenshot({ path: screenshot, fullPage: true })
  console.log(`verifier page screenshot: ${screenshot}`)

  // The shop learns "over 18: yes" and nothing more about the person: none of the values the age
  // proof was issued from appears (the page's own text may name "birth date" as what is not shared).
  const text = await page.locator('body').innerText()
  assert.match(text, /Over 18: yes/)
  for (const personal of ['Nielsen', 'Freja', '1990', '04-12', '12.04', 'Aarhus']) {
    assert.ok(!text.includes(personal), `the page shows "${personal}":\n${text}`)
  }
  const html = await page.content()
  for (const personal of ['Nielsen', 'Freja', '1990-04-12']) assert.ok(!html.includes(personal), `the DOM holds "${personal}"`)
  assert.deepEqual(consoleErrors, [], 'no script errors on the page')
  await page.close()
})
