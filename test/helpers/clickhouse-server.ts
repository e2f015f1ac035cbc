import { existsSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import path from 'node:path'
import { SYSTEM_BINARY_DIRS } from '../../src/engine/clickhouse-binary.js'

/** Debian's clickhouse-server (18.16), which .ci/run installs; a clear failure without it. */
export const debianClickhouseServer = (): string => {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...SYSTEM_BINARY_DIRS].filter((d) => d !== '')
  const found = dirs.map((d) => path.join(d, 'clickhouse-server')).find((f) => existsSync(f))
  if (found === undefined) {
    throw new Error('clickhouse-server is not installed: run `apt-get install clickhouse-server` (CI installs it in .ci/run).')
  }
  return found
}

/** Free loopback ports, all held until every one is picked so none is handed out twice. */
export const freePorts = async (count: number): Promise<number[]> => {
  const servers: Server[] = []
  for (let i = 0; i < count; i++) {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}
