import type { Engine } from '../engine/engine.js'
import { engineCall } from '../engine/engine.js'
import { logDeleteSql, logTable as table } from '../engine/schema.js'

/** Removes every stored entry of a project (lightweight DELETE: rows vanish from reads at once). */
export const deleteProjectEntries = async (engine: Engine, projectId: string): Promise<void> => {
  await engineCall(() =>
    engine.client.command({
      query: logDeleteSql(engine, 'project_id = {project_id:UUID}'),
      query_params: { project_id: projectId },
    }),
  )
}

export const countProjectEntries = async (engine: Engine, projectId: string): Promise<number> => {
  const rs = await engineCall(() =>
    engine.client.query({
      query: `SELECT count() AS n FROM ${table(engine)} WHERE project_id = {project_id:UUID}`,
      query_params: { project_id: projectId },
      format: 'JSONEachRow',
    }),
  )
  const rows = await rs.json<{ n: string | number }>()
  return Number(rows[0]?.n ?? 0)
}
