/**
 * Keeps the code in the docs true: a ```ts block right after `<!-- snippet: path#region -->` must be
 * the region of that file (between `// #region name` and `// #endregion name`; the whole file when
 * no region is named), less its common indentation. `npx tsx docs/snippets.ts` rewrites the blocks
 * from their files; test/docs/snippets.test.ts fails when they differ.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const MARKER = /<!-- snippet: ([^#\s]+)(?:#([\w-]+))? -->\n```ts\n[\s\S]*?```/g;

/** The documents whose code blocks come from files. */
export const DOCUMENTS = [
  "README.md",
  "docs/getting-started.md",
  "docs/concepts.md",
  "docs/guarantees.md",
  "docs/operations.md",
  "docs/testing.md",
  "docs/observability.md",
  "docs/schema-evolution.md",
  "docs/scaling-out.md",
  "docs/explorer.md",
  "docs/lifecycle.md",
];

/** The code of a file's region, dedented. */
export function regionOf(source: string, region: string | undefined, where: string): string {
  let lines = source.split("\n");
  if (region !== undefined) {
    const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
    const end = lines.findIndex((line, i) => i > start && line.trim() === `// #endregion ${region}`);
    if (start < 0 || end < 0) throw new Error(`${where}: no region ${region}`);
    lines = lines.slice(start + 1, end);
  }
  while (lines.at(-1)?.trim() === "") lines.pop();
  const indent = Math.min(...lines.filter((line) => line.trim() !== "").map((line) => line.length - line.trimStart().length));
  return lines.map((line) => line.slice(indent)).join("\n");
}

/** The document with every snippet block rewritten from its file. */
export async function renderSnippets(markdown: string, root: string): Promise<string> {
  const replacements: string[] = [];
  for (const match of markdown.matchAll(MARKER)) {
    const [, path, region] = match as unknown as [string, string, string | undefined];
    const source = await readFile(join(root, path), "utf8");
    replacements.push(`<!-- snippet: ${path}${region === undefined ? "" : `#${region}`} -->\n\`\`\`ts\n${regionOf(source, region, path)}\n\`\`\``);
  }
  let i = 0;
  return markdown.replace(MARKER, () => replacements[i++]!);
}

/** The ```ts blocks of a document that no snippet marker feeds. */
export function unsourcedBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/(^|\n)(.*)\n```ts\n/g)];
  return blocks.filter((block) => !block[2]!.startsWith("<!-- snippet:")).map((block) => block[2]!);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(import.meta.dirname, "..");
  for (const document of DOCUMENTS) {
    const path = join(root, document);
    const markdown = await readFile(path, "utf8");
    const rendered = await renderSnippets(markdown, root);
    if (rendered !== markdown) {
      await writeFile(path, rendered);
      console.log(`updated ${document}`);
    }
  }
}
