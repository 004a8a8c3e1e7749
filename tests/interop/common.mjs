// Shared helpers for the interop test scripts (run by run.sh, which exports SHOEBOX_URL and SHOEBOX_KEY).
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'

export const BASE = process.env.SHOEBOX_URL // http://127.0.0.1:PORT (no /api)
export const KEY = process.env.SHOEBOX_KEY // API key secret
if (!BASE || !KEY) {
  console.error('SHOEBOX_URL and SHOEBOX_KEY must be set (run tests/interop/run.sh)')
  process.exit(2)
}

let failures = 0
export function pass(name, why = '') {
  console.log(`PASS: ${name}${why ? ' — ' + why : ''}`)
}
export function fail(name, why = '') {
  failures++
  console.log(`FAIL: ${name}${why ? ' — ' + why : ''}`)
}
/** PASS when cond is truthy, else FAIL; returns cond. */
export function check(name, cond, okWhy, badWhy) {
  if (cond) pass(name, okWhy)
  else fail(name, badWhy)
  return !!cond
}
export function failures_() {
  return failures
}

/** Calls the API with the API key; returns {status, headers, json, text}. */
export async function api(method, path, body, extraHeaders = {}) {
  const headers = { 'x-api-key': KEY, ...extraHeaders }
  let payload
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const res = await fetch(BASE + path, { method, headers, body: payload })
  const text = await res.text()
  let json
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, json, text }
}

/** Downloads GET /api/assets/{id}/original; returns {status, sha1, size, contentType}. */
export async function original(id) {
  const res = await fetch(`${BASE}/api/assets/${encodeURIComponent(id)}/original`, {
    headers: { 'x-api-key': KEY },
  })
  const buf = Buffer.from(await res.arrayBuffer())
  return {
    status: res.status,
    sha1: createHash('sha1').update(buf).digest('hex'),
    size: buf.length,
    contentType: res.headers.get('content-type'),
  }
}

/** POST /api/assets/bulk-upload-check for [{id, checksum}] → Map id → result. */
export async function bulkCheck(items) {
  const r = await api('POST', '/api/assets/bulk-upload-check', { assets: items })
  if (r.status !== 200 && r.status !== 201) {
    throw new Error(`bulk-upload-check → ${r.status} ${r.text.slice(0, 200)}`)
  }
  return new Map((r.json?.results ?? []).map((x) => [x.id, x]))
}

export function sha1File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha1')
    fs.createReadStream(path)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
  })
}

/** Writes `size` random bytes to path (in 1 MiB pieces), optionally behind a magic prefix. */
export function writeRandomFile(path, size, prefix = Buffer.alloc(0)) {
  const fd = fs.openSync(path, 'w')
  try {
    fs.writeSync(fd, prefix)
    let left = size - prefix.length
    while (left > 0) {
      const n = Math.min(left, 1 << 20)
      fs.writeSync(fd, randomBytes(n))
      left -= n
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** Small files that look like JPEG / PNG to anything that sniffs magic bytes (not decodable). */
export function fakeJpeg(size) {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])
  return Buffer.concat([head, randomBytes(Math.max(0, size - head.length - 2)), Buffer.from([0xff, 0xd9])])
}
export function fakePng(size) {
  const head = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52])
  return Buffer.concat([head, randomBytes(Math.max(0, size - head.length))])
}

export function short(s, n = 300) {
  s = String(s ?? '')
  return s.length > n ? s.slice(0, n) + '…' : s
}
