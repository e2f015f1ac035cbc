import type { ClickhouseState, ClickhouseSupervisor } from '../../src/engine/managed/supervisor.js'
import { AppError } from '../../src/errors.js'

/*
 * What only tests ask of the managed engine's supervisor, built on its public onState/isUp:
 * serve itself never waits for a state or throws on one (ingest asks engine.available()).
 */

/** Resolves once the supervisor is in `state`; rejects after `timeoutMs`. */
export const waitForState = (supervisor: ClickhouseSupervisor, state: ClickhouseState, timeoutMs: number): Promise<void> => {
  if (supervisor.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error(`ClickHouse did not become ${state} within ${timeoutMs} ms (it is ${supervisor.state})`))
    }, timeoutMs)
    const unsubscribe = supervisor.onState((s) => {
      if (s !== state) return
      clearTimeout(timer)
      unsubscribe()
      resolve()
    })
  })
}

/** The 503 a caller that must not even try a down engine answers. */
export const assertUp = (supervisor: ClickhouseSupervisor): void => {
  if (!supervisor.isUp()) throw new AppError('engine_unavailable', 'The log engine is unavailable; retry shortly')
}
