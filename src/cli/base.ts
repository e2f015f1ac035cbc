import { Command, Errors, Flags } from '@oclif/core'
import { AppError, UserError } from '../errors.js'
import { openContext, type OpsContext } from '../ops/context.js'

interface CliFailure {
  code: string
  message: string
  exit: number
  details?: { field: string; message: string }[]
  suggestions?: string[]
}

/** Who must act decides the exit code: 2 for bad input, 1 for everything else. */
const classify = (err: unknown): CliFailure | undefined => {
  if (err instanceof UserError) {
    return { code: 'user_error', message: err.message, exit: err.exitCode, suggestions: err.suggestions }
  }
  if (err instanceof AppError) {
    return {
      code: err.code,
      message: err.message,
      exit: err.code === 'validation_error' ? 2 : 1,
      ...(err.details ? { details: err.details } : {}),
    }
  }
  return undefined
}

/**
 * Base of every command: the shared --data-dir flag, --json output (oclif renders what run()
 * returns), and our errors turned into a clear message and exit code, never a stack trace.
 */
export abstract class KrafterCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'data-dir': Flags.string({
      description: 'Data directory [default: $KRAFTER_HOME, else ~/.krafter-logs]',
      helpGroup: 'GLOBAL',
    }),
  }

  /** Opens the data dir for the command and always closes it again. */
  protected async withContext<T>(dataDir: string | undefined, fn: (ctx: OpsContext) => T | Promise<T>): Promise<T> {
    const ctx = openContext(dataDir)
    try {
      return await fn(ctx)
    } finally {
      ctx.close()
    }
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<unknown> {
    const failure = classify(err)
    if (!failure) return super.catch(err)
    process.exitCode = failure.exit
    if (this.jsonEnabled()) {
      const { exit: _exit, ...error } = failure
      this.logJson({ error })
      return undefined
    }
    throw new Errors.CLIError(failure.message, { exit: failure.exit, suggestions: failure.suggestions })
  }
}
