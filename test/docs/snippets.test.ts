import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOCUMENTS, renderSnippets, unsourcedBlocks } from "../../docs/snippets.js";

const root = join(import.meta.dirname, "../..");

describe("the docs' code", () => {
  for (const document of DOCUMENTS) {
    it(`in ${document} is cut from type-checked files, unchanged`, async () => {
      const markdown = await readFile(join(root, document), "utf8");
      expect(unsourcedBlocks(markdown)).toEqual([]);
      expect(await renderSnippets(markdown, root)).toBe(markdown);
    });
  }
});
