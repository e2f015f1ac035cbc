import { Command, Flags, type Interfaces } from '@oclif/core'
import { AppError, UserError } from '../errors.js'
import { openContext, type OpsContext } from '../ops/context.js'
import { describeParseError, reportFailure, usageLine, type CliFailure, type CommandShape } from './usage.js'

/** The command line itself is wrong: exit 2 with the usage line, like every other bad input. */
class UsageError extends Error {}

/** Who must act decides the exit code: 2 for bad input, 1 for everything else. */
const classify = (err: unknown): Omit<CliFailure, 'usage'> | undefined => {
  if (err instanceof UsageError) return { code: 'usage_error', message: err.message, exit: 2 }
  if (err instanceof UserError) {
    return { code: err.code, message: err.message, exit: err.exitCode, suggestions: err.suggestions }
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

  /** oclif's parse errors (each a different shape) become one UsageError sentence. */
  protected override async parse<F extends Interfaces.OutputFlags<any>, B extends Interfaces.OutputFlags<any>, A extends Interfaces.OutputArgs<any>>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv)
    } catch (err) {
      // Parsed, and found wrong: oclif would otherwise warn that the command never parsed.
      this.parsed = true
      throw new UsageError(describeParseError(err, this.shape()))
    }
  }

  private shape(): CommandShape {
    const cached = this.id ? this.config.findCommand(this.id) : undefined
    return {
      id: this.id ?? '',
      args: (cached?.args ?? this.ctor.args ?? {}) as CommandShape['args'],
      flags: (cached?.flags ?? { ...this.ctor.baseFlags, ...this.ctor.flags }) as CommandShape['flags'],
    }
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const failure = classify(err)
    if (!failure) {
      // A bug: in --json mode still one small document, not oclif's serialisation of the error.
      if (this.jsonEnabled() && err.oclif?.exit === undefined) {
        reportFailure({ code: 'internal_error', message: err.message || String(err), exit: 1 }, true)
        return undefined
      }
      return super.catch(err)
    }
    const usage = failure.exit === 2 ? usageLine(this.config.bin, this.shape()) : undefined
    reportFailure({ ...failure, usage }, this.jsonEnabled())
    return undefined
  }
}
