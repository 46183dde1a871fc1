/** Activities for the conformance suite. */
export async function greet(name: string): Promise<string> {
  return `Hello, ${name}!`;
}
