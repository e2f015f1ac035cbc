import type { Hook } from '@oclif/core'
import { typoDistance } from '../suggest.js'
import { commandWords, reportFailure, usageLine, type CommandShape } from '../usage.js'

/**
 * A mistyped command (`krafter-logs projct list`): one line naming it with the closest command
 * or topic, the usage line, exit 2. Typed ids are `projct:list` (words joined by ':'); each
 * command is compared with as many words of it as the command has.
 */
const hook: Hook.CommandNotFound = async function (options) {
  const typed = options.id.split(':')
  let best: { id: string; words: number; distance: number } | undefined
  for (const id of [...options.config.commandIDs, ...options.config.topics.map((t) => t.name)]) {
    const words = id.split(':').length
    if (words > typed.length) continue
    const distance = typoDistance(typed.slice(0, words).join(':'), id)
    if (distance === undefined) continue
    // A command matching more of the typed words wins, then the closer spelling.
    if (!best || words > best.words || (words === best.words && distance < best.distance)) best = { id, words, distance }
  }
  const suggestion = best?.id
  const command = suggestion ? options.config.findCommand(suggestion) : undefined
  const { bin } = options.config
  reportFailure(
    {
      code: 'usage_error',
      message: `${bin} has no command "${commandWords(options.id)}"${suggestion ? ` (did you mean "${bin} ${commandWords(suggestion)}"?)` : ''}`,
      exit: 2,
      usage: command ? usageLine(bin, command as unknown as CommandShape) : `Usage: ${bin} COMMAND (${bin} --help lists the commands)`,
    },
    options.argv?.includes('--json') ?? false,
  )
  this.exit(2)
}

export default hook
