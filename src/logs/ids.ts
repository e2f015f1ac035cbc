import { randomBytes } from 'node:crypto'

const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz'

const encode = (value: number, width: number): string => {
  let out = ''
  let v = value
  for (let i = 0; i < width; i++) {
    out = BASE32[v % 32] + out
    v = Math.floor(v / 32)
  }
  return out
}

/**
 * Entry ids: 10 chars of receive time (ms, base32, sortable) + 6 random chars chosen once per
 * process + a 6-char counter. Unique without a random draw per entry, and ordered by receipt
 * within a process; search pages on (timestamp, id), so the id only has to be unique.
 */
export const createIdGenerator = (clock: () => number = Date.now): (() => string) => {
  let instance = ''
  let counter = 0
  let lastMs = -1
  let timePart = ''
  const reseed = () => {
    instance = [...randomBytes(6)].map((b) => BASE32[b % 32]).join('')
    counter = 0
  }
  reseed()
  return () => {
    const ms = clock()
    if (ms !== lastMs) {
      lastMs = ms
      timePart = encode(ms, 10)
    }
    if (counter >= 32 ** 6) reseed()
    return timePart + instance + encode(counter++, 6)
  }
}
