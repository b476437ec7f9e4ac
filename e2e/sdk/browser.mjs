// Loads the analytics.js page in headless Debian chromium and waits for the
// journey it runs to finish. Usage: node browser.mjs PAGE_URL
// CHROMIUM overrides /usr/bin/chromium.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const pageURL = process.argv[2]
if (!pageURL) {
  console.error('usage: node browser.mjs PAGE_URL')
  process.exit(2)
}
const profile = mkdtempSync(join(tmpdir(), 'pqlbot-chromium-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
})
let code = 0
try {
  const page = await context.newPage()
  page.on('console', (m) => console.error('page:', m.type(), m.text()))
  page.on('pageerror', (e) => console.error('page error:', e.message))
  page.on('requestfailed', (r) => console.error('request failed:', r.method(), r.url(), r.failure()?.errorText))
  page.on('response', (r) => {
    if (r.url().includes('/v1/')) console.error('response:', r.request().method(), r.url(), r.status())
  })
  await page.goto(pageURL)
  const result = await page.evaluate(() => window.journeyDone, null, { timeout: 60000 })
  console.log(JSON.stringify(result))
  if (!result || result.failed > 0) code = 1
} catch (err) {
  console.error('browser:', err)
  code = 1
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
process.exit(code)
