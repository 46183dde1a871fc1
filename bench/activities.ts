/** Activities for the benchmark: as cheap as possible, so the figures are the server's and the SDK's. */
export async function echo(n: number): Promise<number> {
  return n;
}
