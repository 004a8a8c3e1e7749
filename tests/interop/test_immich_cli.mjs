// @immich/cli 3.2.2 against shoebox-server: login with an API key, recursive upload into an album,
// byte-identical originals, a second run that finds only duplicates, an upload without an album,
// and --skip-hash (multipart POST of files the server already has → 200 duplicate).
// Env: SHOEBOX_URL, SHOEBOX_KEY, IMMICH_BIN (the CLI entry), IMMICH_NODE (a Node >= 22 binary).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BASE, KEY, api, bulkCheck, check, fail, failures_, fakeJpeg, fakePng, original, sha1File, short } from './common.mjs'

const T = 'immich-cli'
const work = fs.mkdtempSync(path.join(process.env.INTEROP_TMP || os.tmpdir(), 'immich-cli-'))
const configDir = path.join(work, 'config')
const album = `Interop Album ${Date.now()}`

function immich(args) {
  const r = spawnSync(process.env.IMMICH_NODE || process.execPath, [process.env.IMMICH_BIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, IMMICH_CONFIG_DIR: configDir, IMMICH_API_KEY: '', IMMICH_INSTANCE_URL: '', NO_COLOR: '1' },
  })
  return { code: r.status, out: (r.stdout || '') + (r.stderr || ''), error: r.error }
}

// ---- the source folder: subfolders, spaces + unicode, upper-case extension, one ~5 MB file ----
const src = path.join(work, 'photos')
const files = {
  'IMG_0001.jpg': fakeJpeg(40_000),
  'IMG_0002.png': fakePng(25_000),
  'Holiday 2024/beach day.jpg': fakeJpeg(60_000),
  'Holiday 2024/sunset.jpeg': fakeJpeg(33_333),
  'Holiday 2024/Été à Zürich — 東京 📷.jpg': fakeJpeg(12_345),
  'Holiday 2024/day two/IMG_0003.JPG': fakeJpeg(80_001),
  'Holiday 2024/day two/panorama big.jpg': fakeJpeg(5 * 1000 * 1000 + 17),
  'family/kids/screenshot 1.png': fakePng(7_777),
  'family/kids/screenshot 2.png': fakePng(7_778),
  'family/grandma.jpg': fakeJpeg(1_024),
  'misc/tiny.png': fakePng(200),
  'misc/deep/deeper/deepest/IMG_0004.jpg': fakeJpeg(150_000),
}
for (const [rel, data] of Object.entries(files)) {
  fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true })
  fs.writeFileSync(path.join(src, rel), data)
}
fs.writeFileSync(path.join(src, 'notes.txt'), 'not a photo — the CLI must skip this\n')
const byName = new Map() // basename → {rel, sha1, size}
for (const rel of Object.keys(files)) {
  const p = path.join(src, rel)
  byName.set(path.basename(rel), { rel, sha1: await sha1File(p), size: fs.statSync(p).size })
}
const N = byName.size

async function verifyAssets(ids, label) {
  let ok = 0
  const bad = []
  for (const { id, name } of ids) {
    const want = byName.get(name)
    const o = await original(id)
    if (want && o.status === 200 && o.sha1 === want.sha1 && o.size === want.size) ok++
    else bad.push(`${name} (${id}): GET original → ${o.status}, ${o.size} B, sha1 ${o.sha1}, want ${want?.sha1} ${want?.size} B`)
  }
  check(`${T}: ${label}: originals byte-identical`, ok === ids.length && ids.length > 0, `${ok}/${ids.length} SHA-1 match`,
    `${ok}/${ids.length} match; ${short(bad.join('; '), 800)}`)
}

async function findAlbum() {
  const r = await api('GET', '/api/albums')
  if (r.status !== 200 || !Array.isArray(r.json)) return { error: `GET /api/albums → ${r.status} ${short(r.text)}` }
  const matches = r.json.filter((a) => a.albumName === album)
  if (matches.length !== 1) return { error: `${matches.length} albums named "${album}" in ${short(JSON.stringify(r.json.map((a) => a.albumName)))}` }
  const d = await api('GET', `/api/albums/${matches[0].id}`)
  if (d.status !== 200 || !Array.isArray(d.json?.assets)) return { error: `GET /api/albums/${matches[0].id} → ${d.status} ${short(d.text)}` }
  return { id: matches[0].id, assets: d.json.assets, count: matches.length }
}

try {
  // ---- login ----
  const login = immich(['login', `${BASE}/api`, KEY])
  const authFile = path.join(configDir, 'auth.yml')
  check(`${T}: login with API key`, login.code === 0 && fs.existsSync(authFile), 'auth.yml written',
    `exit ${login.code}: ${short(login.out, 800)}`)

  // ---- upload 1: recursive, into a named album ----
  const up1 = immich(['upload', '--recursive', '--album-name', album, '--no-progress', src])
  check(`${T}: upload --recursive --album-name`, up1.code === 0 && up1.out.includes(`Found ${N} new files and 0 duplicates`)
    && up1.out.includes(`Successfully uploaded ${N} new assets`),
    `Found ${N} new files, uploaded ${N}`, `exit ${up1.code}: ${short(up1.out, 1500)}`)
  check(`${T}: upload skipped the non-media file`, !up1.out.includes('notes.txt') && up1.out.includes(`Received ${N} files`), `${N} files`,
    short(up1.out, 600))

  const a1 = await findAlbum()
  let albumIds = []
  if (check(`${T}: album "${album}" exists once`, !a1.error, `album ${a1.id}`, a1.error)) {
    const names = a1.assets.map((a) => a.originalFileName)
    albumIds = a1.assets.map((a) => ({ id: a.id, name: a.originalFileName }))
    const missing = [...byName.keys()].filter((n) => !names.includes(n))
    check(`${T}: album holds every uploaded asset with its original file name`,
      a1.assets.length === N && missing.length === 0 && new Set(albumIds.map((x) => x.id)).size === N,
      `${a1.assets.length} assets`, `${a1.assets.length} assets (want ${N}); missing names: ${JSON.stringify(missing)}; got ${short(JSON.stringify(names), 800)}`)
    await verifyAssets(albumIds, 'album assets')
  }

  // The server knows every checksum now, each as exactly the asset in the album.
  const checks = [...byName.values()].map((v) => ({ id: v.rel, checksum: v.sha1 }))
  const idOf = new Map(albumIds.map((x) => [x.name, x.id]))
  let res = await bulkCheck(checks)
  const notDup = [...byName.values()].filter((v) => {
    const r = res.get(v.rel)
    return !(r && r.action === 'reject' && r.reason === 'duplicate' && r.assetId === idOf.get(path.basename(v.rel)))
  })
  check(`${T}: bulk-upload-check rejects all as duplicates of the album's assets`, notDup.length === 0, `${N} duplicates`,
    `${notDup.length} not matching: ${short(JSON.stringify(notDup.map((v) => res.get(v.rel))), 800)}`)

  // ---- upload 2: the same again → nothing new ----
  const up2 = immich(['upload', '--recursive', '--album-name', album, '--no-progress', src])
  check(`${T}: second upload finds only duplicates`, up2.code === 0 && up2.out.includes(`Found 0 new files and ${N} duplicates`)
    && up2.out.includes('All assets were already uploaded'),
    `"Found 0 new files and ${N} duplicates", "All assets were already uploaded"`, `exit ${up2.code}: ${short(up2.out, 1500)}`)
  const a2 = await findAlbum()
  check(`${T}: second upload changed no asset and no album`, !a2.error && a2.assets.length === N
    && a2.assets.every((a) => idOf.get(a.originalFileName) === a.id),
    `still 1 album with the same ${N} assets`, a2.error || `album now has ${a2.assets.length} assets: ${short(JSON.stringify(a2.assets.map((a) => a.id)))}`)

  // ---- upload 2b: --album (one album per folder name), all files already on the server ----
  const wantAlbums = { photos: 2, 'Holiday 2024': 3, 'day two': 2, family: 1, kids: 2, misc: 1, deepest: 1 }
  const up2b = immich(['upload', '--recursive', '--album', '--no-progress', src])
  check(`${T}: upload --album creates one album per folder`, up2b.code === 0
    && up2b.out.includes(`Successfully created ${Object.keys(wantAlbums).length} new albums`),
    `${Object.keys(wantAlbums).length} albums`, `exit ${up2b.code}: ${short(up2b.out, 1500)}`)
  const all = await api('GET', '/api/albums')
  const bad = []
  for (const [name, count] of Object.entries(wantAlbums)) {
    const al = (all.json ?? []).filter((a) => a.albumName === name)
    if (al.length !== 1) { bad.push(`${al.length} albums named "${name}"`); continue }
    const d = await api('GET', `/api/albums/${al[0].id}`)
    const got = (d.json?.assets ?? []).filter((a) => byName.has(a.originalFileName) && idOf.get(a.originalFileName) === a.id)
    if (d.json?.assets?.length !== count || got.length !== count) bad.push(`"${name}": ${d.json?.assets?.length} assets, want ${count}`)
  }
  check(`${T}: folder albums hold the existing assets`, all.status === 200 && bad.length === 0,
    Object.entries(wantAlbums).map(([n, c]) => `${n}:${c}`).join(', '), `GET /api/albums → ${all.status}; ${bad.join('; ')}`)
  const a2b = await findAlbum()
  check(`${T}: --album left the named album alone`, !a2b.error && a2b.assets.length === N, `${N} assets`, a2b.error || `${a2b.assets.length} assets`)

  // ---- upload 3: no album, a new folder (3 new files + 1 already on the server) ----
  const src2 = path.join(work, 'more')
  fs.mkdirSync(path.join(src2, 'sub'), { recursive: true })
  const extra = { 'extra one.jpg': fakeJpeg(20_000), 'extra two.png': fakePng(30_000), 'sub/extra three.jpg': fakeJpeg(40_000) }
  for (const [rel, data] of Object.entries(extra)) fs.writeFileSync(path.join(src2, rel), data)
  fs.copyFileSync(path.join(src, 'IMG_0001.jpg'), path.join(src2, 'copy of IMG_0001.jpg'))
  for (const rel of Object.keys(extra)) {
    const p = path.join(src2, rel)
    byName.set(path.basename(rel), { rel, sha1: await sha1File(p), size: fs.statSync(p).size })
  }
  const up3 = immich(['upload', '--recursive', '--no-progress', src2])
  check(`${T}: upload without --album`, up3.code === 0 && up3.out.includes('Found 3 new files and 1 duplicate')
    && up3.out.includes('Successfully uploaded 3 new assets'),
    '3 new, 1 duplicate', `exit ${up3.code}: ${short(up3.out, 1500)}`)
  res = await bulkCheck(Object.keys(extra).map((rel) => ({ id: rel, checksum: byName.get(path.basename(rel)).sha1 })))
  const newIds = Object.keys(extra).map((rel) => ({ id: res.get(rel)?.assetId, name: path.basename(rel) }))
  if (check(`${T}: the 3 new files are assets now`, newIds.every((x) => x.id), 'bulk-upload-check names them',
    short(JSON.stringify([...res.values()])))) {
    await verifyAssets(newIds, 'no-album upload')
  }
  const a3 = await findAlbum()
  check(`${T}: no-album upload left the album alone`, !a3.error && a3.assets.length === N, `${N} assets`,
    a3.error || `${a3.assets.length} assets`)

  // ---- upload 4: --skip-hash → the CLI POSTs every file; the server must answer duplicate ----
  const up4 = immich(['upload', '--recursive', '--skip-hash', '--no-progress', src2])
  check(`${T}: --skip-hash re-upload answered as duplicates`, up4.code === 0 && up4.out.includes('Successfully uploaded 0 new assets')
    && up4.out.includes('Skipped 4 duplicate assets'),
    '0 new, 4 duplicates (multipart POST → 200 duplicate)', `exit ${up4.code}: ${short(up4.out, 1500)}`)
  res = await bulkCheck(Object.keys(extra).map((rel) => ({ id: rel, checksum: byName.get(path.basename(rel)).sha1 })))
  check(`${T}: --skip-hash created no new asset`, Object.keys(extra).every((rel, i) => res.get(rel)?.assetId === newIds[i].id),
    'same asset ids', short(JSON.stringify([...res.values()])))
} catch (e) {
  fail(`${T}: unexpected error`, e.stack)
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
process.exit(failures_() ? 1 : 0)
