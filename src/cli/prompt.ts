import { createInterface } from 'node:readline/promises'

/** A person at a terminal can be asked; a script or pipe cannot (it must pass --yes). */
export const canAsk = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY)

/** Asks a yes/no question on stderr (stdout stays for --json); only "y" or "yes" is a yes. */
export const confirm = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(`${question} [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
