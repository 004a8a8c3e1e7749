// tus-js-client 4.3.1: a 64 MiB upload through a throttling proxy, the uploader SIGKILLed past ~30 %,
// then a second uploader process finds the upload in its FileUrlStorage, HEADs the offset and resumes.
// Checks: resumed from a non-zero offset no lower than the last acknowledged one, the same upload URL,
// and the asset's original is byte-identical (SHA-1) to the source.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { BASE, KEY, api, check, fail, failures_, original, pass, sha1File, short, writeRandomFile } from './common.mjs'
import { startThrottleProxy } from './throttle-proxy.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const T = 'tus-js'
const SIZE = 64 * 1024 * 1024
const CHUNK = 8 * 1024 * 1024

const work = fs.mkdtempSync(path.join(process.env.INTEROP_TMP || os.tmpdir(), 'tusjs-'))
const file = path.join(work, 'resume me.mp4')
writeRandomFile(file, SIZE, Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32]))
const sha1 = await sha1File(file)
const storage = path.join(work, 'tus-urls.json')

const target = new URL(BASE)
const proxy = await startThrottleProxy(target.hostname, Number(target.port), 8e6)
const endpoint = `http://127.0.0.1:${proxy.address().port}/api/upload`

/** Runs one uploader process; killAt = fraction of progress at which to SIGKILL it (or null). */
function runUploader(killAt, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, 'tus-upload.mjs'), file, endpoint, storage, sha1], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    })
    const events = []
    let stderr = ''
    let killed = false
    const timer = setTimeout(() => {
      events.push({ ev: 'timeout' })
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stderr.on('data', (d) => (stderr += d))
    createInterface({ input: child.stdout }).on('line', (line) => {
      let e
      try {
        e = JSON.parse(line)
      } catch {
        return
      }
      events.push(e)
      if (killAt != null && !killed && e.ev === 'progress' && e.sent / e.total >= killAt) {
        killed = true
        child.kill('SIGKILL')
      }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, killed, events, stderr })
    })
  })
}

try {
  // ---- run 1: killed midway ----
  const r1 = await runUploader(0.3, 60_000)
  const lastProgress1 = r1.events.filter((e) => e.ev === 'progress').at(-1)
  const acked1 = Math.max(0, ...r1.events.filter((e) => e.ev === 'patch' && e.status === 204).map((e) => e.offset))
  const created = r1.events.find((e) => e.ev === 'post')
  check(`${T}: create upload (POST via proxy)`, created && created.status === 201, `201`,
    `POST ${endpoint} → ${created ? created.status : 'no response'}; uploader events: ${short(JSON.stringify(r1.events.slice(0, 5)))} ${short(r1.stderr)}`)
  if (!check(`${T}: first uploader SIGKILLed midway`, r1.killed && r1.signal === 'SIGKILL',
    `killed at ${lastProgress1?.sent}/${SIZE} bytes sent, last acknowledged offset ${acked1}`,
    `not killed (exit ${r1.code}/${r1.signal}); events: ${short(JSON.stringify(r1.events.slice(-4)))} ${short(r1.stderr)}`)) {
    throw new Error('skip')
  }
  let stored = {}
  try {
    stored = JSON.parse(fs.readFileSync(storage, 'utf8'))
  } catch {}
  const storedUrls = Object.values(stored).map((v) => (typeof v === 'string' ? JSON.parse(v) : v)).map((v) => v.uploadUrl)
  check(`${T}: FileUrlStorage kept the upload URL`, storedUrls.length === 1, storedUrls[0], `storage: ${short(JSON.stringify(stored))}`)

  // Server's view before resuming (direct HEAD). The interrupted PATCH carried no checksum, so per the
  // contract the server keeps the prefix that arrived: wait (≤ 5 s) until it has noticed the drop.
  let settled = null
  if (storedUrls[0]) {
    const u = new URL(storedUrls[0])
    const t0 = Date.now()
    let h, off
    do {
      h = await fetch(BASE + u.pathname, { method: 'HEAD', headers: { 'x-api-key': KEY, 'Tus-Resumable': '1.0.0' } })
      off = Number(h.headers.get('upload-offset'))
      if (h.status !== 200 || off > acked1) break
      await new Promise((r) => setTimeout(r, 100))
    } while (Date.now() - t0 < 5000)
    settled = off
    check(`${T}: HEAD after kill keeps the acknowledged bytes`, h.status === 200 && off >= acked1 && off < SIZE,
      `Upload-Offset ${off}, Upload-Length ${h.headers.get('upload-length')}, Cache-Control ${h.headers.get('cache-control')}`,
      `HEAD ${u.pathname} → ${h.status}, Upload-Offset ${h.headers.get('upload-offset')} (acknowledged before kill: ${acked1})`)
    check(`${T}: server kept the prefix of the interrupted PATCH`, h.status === 200 && off > acked1,
      `${off - acked1} bytes past the last acknowledged offset ${acked1} (after ${Date.now() - t0} ms)`,
      `Upload-Offset still ${off} = last acknowledged ${acked1} after 5 s (contract: a client that drops mid-PATCH keeps the prefix that arrived)`)
  }

  // ---- run 2: resume ----
  const r2 = await runUploader(null, 90_000)
  const prev = r2.events.find((e) => e.ev === 'previous')
  const head = r2.events.find((e) => e.ev === 'head')
  const firstPatch = r2.events.find((e) => e.ev === 'patch-start')
  const success = r2.events.find((e) => e.ev === 'success')
  const err = r2.events.find((e) => e.ev === 'error' || e.ev === 'timeout')
  check(`${T}: second uploader found the previous upload`, prev && prev.count >= 1, `findPreviousUploads → ${prev?.count}`,
    `findPreviousUploads → ${JSON.stringify(prev)}`)
  check(`${T}: resumed with HEAD at a non-zero offset`, head && head.status === 200 && head.offset > 0 && head.offset >= (settled ?? acked1),
    `HEAD Upload-Offset ${head?.offset} (acknowledged before kill: ${acked1}; ${Math.round((head?.offset / SIZE) * 100)} %)`,
    `HEAD → ${JSON.stringify(head)}, acknowledged before kill: ${acked1}, server offset before resuming: ${settled}`)
  check(`${T}: first PATCH of the second run starts at the HEAD offset`,
    firstPatch && head && firstPatch.offset === head.offset && firstPatch.offset > 0,
    `Upload-Offset ${firstPatch?.offset}; second run sent ${SIZE - (firstPatch?.offset ?? 0)} of ${SIZE} bytes`,
    `first PATCH ${JSON.stringify(firstPatch)}, HEAD ${JSON.stringify(head)}`)
  if (!check(`${T}: resumed upload completed`, success && r2.code === 0, `upload URL ${success?.url}`,
    `exit ${r2.code}/${r2.signal}; ${JSON.stringify(err)}; last events ${short(JSON.stringify(r2.events.slice(-3)))} ${short(r2.stderr)}`)) {
    throw new Error('skip')
  }
  check(`${T}: same upload resource resumed (no new POST)`, success.url === storedUrls[0] && !r2.events.some((e) => e.ev === 'post'),
    success.url, `first run ${storedUrls[0]}, second run ${success.url}, POSTs in run 2: ${r2.events.filter((e) => e.ev === 'post').length}`)
  // Pair each PATCH request (its Upload-Offset) with its response (status, new Upload-Offset).
  const pairs = []
  let start = null
  for (const e of r2.events) {
    if (e.ev === 'patch-start') start = e.offset
    else if (e.ev === 'patch') pairs.push({ from: start, status: e.status, to: e.offset })
  }
  const seq = pairs.map((p) => `${p.from}→${p.status}${p.status === 204 ? ':' + p.to : ''}`).join(' ')
  const ok204 = pairs.filter((p) => p.status === 204)
  check(`${T}: every 204 PATCH advanced by at most chunkSize`,
    ok204.length > 0 && ok204.every((p) => p.to > p.from && p.to - p.from <= CHUNK) && ok204.at(-1).to === SIZE,
    `run 2 PATCHes (offset→status): ${seq}`, `run 2 PATCHes (offset→status): ${seq}`)

  const assetId = success.assetId
  check(`${T}: last PATCH carries Shoebox-Asset-Id / Status created`, assetId && success.assetStatus === 'created',
    `asset ${assetId} (${success.assetStatus})`, `Shoebox-Asset-Id ${assetId}, Shoebox-Asset-Status ${success.assetStatus}`)
  if (assetId) {
    const o = await original(assetId)
    check(`${T}: original byte-identical to source`, o.status === 200 && o.sha1 === sha1 && o.size === SIZE,
      `SHA-1 ${o.sha1}, ${o.size} bytes`, `GET /api/assets/${assetId}/original → ${o.status}, ${o.size} bytes, SHA-1 ${o.sha1}, want ${sha1}`)
    const a = await api('GET', `/api/assets/${assetId}`)
    const want64 = Buffer.from(sha1, 'hex').toString('base64')
    check(`${T}: asset metadata (name, checksum, size)`,
      a.status === 200 && a.json?.originalFileName === 'resume me.mp4' && a.json?.checksum === want64 && Number(a.json?.fileSize) === SIZE,
      `${a.json?.originalFileName}, ${a.json?.type}, ${a.json?.originalMimeType}`,
      `GET /api/assets/${assetId} → ${a.status} ${short(a.text)}`)
  }
  // HEAD on the finished upload reports the asset too.
  const u = new URL(success.url)
  const h = await fetch(BASE + u.pathname, { method: 'HEAD', headers: { 'x-api-key': KEY, 'Tus-Resumable': '1.0.0' } })
  check(`${T}: HEAD on the finished upload names the asset`,
    h.status === 200 && Number(h.headers.get('upload-offset')) === SIZE && h.headers.get('shoebox-asset-id') === assetId,
    `Upload-Offset ${SIZE}, Shoebox-Asset-Id ${assetId}`,
    `HEAD ${u.pathname} → ${h.status}, Upload-Offset ${h.headers.get('upload-offset')}, Shoebox-Asset-Id ${h.headers.get('shoebox-asset-id')} (want ${assetId})`)

  // ---- run 3: the same file again, fresh URL storage, straight to the server: the server knows the
  // checksum at creation (201 + Upload-Offset = Upload-Length + Shoebox-Asset-Status: duplicate); the
  // client's PATCH gets 409, it HEADs, sees the upload complete and succeeds without sending the file.
  const r3 = await new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, 'tus-upload.mjs'), file, `${BASE}/api/upload`, path.join(work, 'fresh.json'), sha1],
      { stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, err, events: out.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) } catch { return {} } }) })
    })
  })
  const post3 = r3.events.find((e) => e.ev === 'post')
  const ok3 = r3.events.find((e) => e.ev === 'success')
  const seq3 = r3.events.filter((e) => ['post', 'patch', 'head'].includes(e.ev)).map((e) => `${e.ev.toUpperCase()} ${e.status}${e.body ? ' ' + e.body : ''}`).join(', ')
  const accepted3 = r3.events.filter((e) => e.ev === 'patch' && e.status === 204).length
  check(`${T}: re-upload of a known file is a duplicate at creation`,
    r3.code === 0 && post3?.status === 201 && post3?.offset === SIZE && ok3?.assetId === assetId && ok3?.assetStatus === 'duplicate' && accepted3 === 0,
    `POST → 201 with Upload-Offset ${post3?.offset}, Shoebox-Asset-Id = first asset (duplicate); requests: ${seq3}`,
    `exit ${r3.code}; POST ${JSON.stringify(post3)}; success ${JSON.stringify(ok3)}; requests: ${seq3}; want asset ${assetId}; ${short(JSON.stringify(r3.events.slice(-3)))} ${short(r3.err)}`)
} catch (e) {
  if (e.message !== 'skip') fail(`${T}: unexpected error`, e.stack)
} finally {
  proxy.close()
  fs.rmSync(work, { recursive: true, force: true })
}
process.exit(failures_() ? 1 : 0)
