/**
 * The receipt times of requests this process is storing: a request registers its receipt time
 * (the `received_at` of all its rows) before any await and releases it once its rows are in the
 * engine or refused. `watermark(now)` is then a time before which every entry this process
 * received is already readable: the live tail reads up to it, so an entry whose insert is slow
 * is never skipped by a tail that moved past its receipt time.
 */
export class ReceiptTracker {
  private readonly open = new Map<number, number>()
  private min = Infinity

  begin(receivedUs: number): void {
    this.open.set(receivedUs, (this.open.get(receivedUs) ?? 0) + 1)
    if (receivedUs < this.min) this.min = receivedUs
  }

  end(receivedUs: number): void {
    const n = this.open.get(receivedUs)
    if (n === undefined) return
    if (n > 1) {
      this.open.set(receivedUs, n - 1)
      return
    }
    this.open.delete(receivedUs)
    if (receivedUs === this.min) {
      this.min = Infinity
      for (const us of this.open.keys()) if (us < this.min) this.min = us
    }
  }

  /** Entries with received_at < the answer are all readable (as far as this process's writes go). */
  watermark(nowUs: number): number {
    return Math.min(nowUs, this.min)
  }

  get pending(): number {
    return this.open.size
  }
}
