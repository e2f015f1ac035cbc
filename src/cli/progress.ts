import { Listr } from 'listr2'
import type { Step } from '../ops/steps.js'

/**
 * Runs steps with listr2: a live task list on a terminal, plain lines otherwise, nothing at
 * all when the command prints JSON (stdout then carries one JSON document only).
 */
export const runSteps = async <S>(steps: Step<S>[], state: S, options: { quiet: boolean }): Promise<void> => {
  const renderer = options.quiet ? 'silent' : process.stdout.isTTY ? 'default' : 'simple'
  const list = new Listr(
    steps.map((step) => ({ title: step.title, task: async () => step.run(state) })),
    { renderer, exitOnError: true, rendererOptions: {} },
  )
  await list.run()
}
