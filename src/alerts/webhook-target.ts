import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/**
 * Where a webhook may point. A key that may change alert rules (logs:write) must not be able to
 * make serve call its own loopback ports or the private network around it (SSRF), so those
 * addresses are refused unless the operator allows them (`alerts.allow_private_webhooks`).
 */
const PRIVATE = new BlockList()
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4')
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6')
}

/** true for loopback, link-local, private and unspecified addresses (IPv4-mapped IPv6 included). */
export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address)
  if (family === 0) return false
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined
  return mapped ? PRIVATE.check(mapped, 'ipv4') : PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

export const PRIVATE_WEBHOOK_HINT = 'set alerts.allow_private_webhooks: true in krafter.yaml to allow it'

/** The host of a URL as an address or name (`[::1]` → `::1`). */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()

/**
 * Why the URL's host may not be called without resolving it: an address in a private range,
 * or a `localhost` name (loopback by definition). undefined when nothing is wrong with it yet.
 */
export const privateTargetReason = (url: string): string | undefined => {
  const host = hostOf(new URL(url))
  if (/(^|\.)localhost\.?$/.test(host)) return `${host} is the local host`
  if (isPrivateAddress(host)) return `${host} is a loopback, link-local or private address`
  return undefined
}

/** A delivery refused because of where the webhook points: retrying cannot help. */
export class WebhookTargetRefused extends Error {
  override name = 'WebhookTargetRefused'
}

/**
 * Wraps a DNS lookup for webhook connections so that it refuses private addresses after
 * resolution: a public-looking name that resolves (or re-resolves) to one is refused too, and
 * the connection is made to exactly the addresses checked here.
 */
export const publicOnly =
  (lookup: LookupFunction = dnsLookup as LookupFunction): LookupFunction =>
  (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, '', 4)
      const addresses = result as unknown as LookupAddress[]
      const refused = addresses.find((a) => isPrivateAddress(a.address))
      if (refused) {
        const reason = `${hostname} resolves to ${refused.address}, a loopback, link-local or private address; ${PRIVATE_WEBHOOK_HINT}`
        return callback(new WebhookTargetRefused(reason) as NodeJS.ErrnoException, '', 4)
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses)
      return callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
