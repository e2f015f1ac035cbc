import type { Engine } from '../src/engine/engine.js'
import { generateChunk } from './scale-data.js'

/** count entries for a project spread evenly over the 24 h after fromMs, generated inside the engine (scale-data.ts). */
export const generateEntries = (engine: Engine, projectId: string, count: number, seed: number, fromMs: number) =>
  generateChunk(engine, { projectId, start: 0, count, seed, fromMs, spanMs: 86_400_000 })
