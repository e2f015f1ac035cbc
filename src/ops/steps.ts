/** A named unit of long CLI work; the CLI renders a list of them with listr2. */
export interface Step<S> {
  title: string
  run: (state: S) => void | Promise<void>
}

/** Runs a plan's steps; the caller decides how they are shown (listr2 in the CLI). */
export type RunSteps = <S>(steps: Step<S>[], state: S) => Promise<void>
