import type { Writable } from 'node:stream'

/**
 * Output written as it comes, at the reader's pace: each write waits for a full pipe to drain,
 * so a slow reader holds the search back instead of the lines piling up in memory. A reader
 * that went away (`| head`) ends the output quietly: write answers false from then on.
 */
export class LineWriter {
  private gone = false
  private failure: Error | undefined

  constructor(private readonly out: Writable) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.gone = true
      else this.failure = err
    })
  }

  async write(text: string): Promise<boolean> {
    if (this.failure) throw this.failure
    if (this.gone) return false
    if (text !== '' && !this.out.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done)
          this.out.off('error', done)
          this.out.off('close', done)
          resolve()
        }
        this.out.on('drain', done)
        this.out.on('error', done)
        this.out.on('close', done)
      })
    }
    if (this.failure) throw this.failure
    return !this.gone
  }
}
