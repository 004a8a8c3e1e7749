// A tiny TCP proxy that forwards client→server at about `bytesPerSec` (server→client unthrottled),
// so a loopback upload lasts long enough to be killed midway. When the client side dies, the server
// side is destroyed too (the server sees the PATCH body cut off, as with a real dropped connection).
// Standalone: node throttle-proxy.mjs TARGET_HOST TARGET_PORT [BYTES_PER_SEC] → prints "listening PORT".
import net from 'node:net'

export function startThrottleProxy(targetHost, targetPort, bytesPerSec = 8e6) {
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost)
    client.on('data', (chunk) => {
      upstream.write(chunk)
      client.pause()
      setTimeout(() => client.resume(), (chunk.length / bytesPerSec) * 1000)
    })
    upstream.pipe(client)
    client.on('end', () => upstream.end())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [, , host, port, rate] = process.argv
  const server = await startThrottleProxy(host, Number(port), rate ? Number(rate) : 8e6)
  console.log(`listening ${server.address().port}`)
}
