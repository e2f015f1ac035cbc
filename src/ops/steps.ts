/** A named unit of long CLI work; the CLI renders a list of them with listr2. */
export interface Step<S> {
  title: string
  run: (state: S) => void | Promise<void>
}
