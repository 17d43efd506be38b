import { execFile } from "node:child_process";
import { access, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

describe("README", () => {
  it("has a quickstart that runs", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/quickstart/quickstart.ts"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: "", MEOWMX_DATABASE_URL: "" },
    });
    expect(stdout).toMatch(/order [0-9a-f-]{36} is shipped at version 2/);
    expect(stdout).toMatch(/version 2 OrderShipped/);
  });
});

describe("the docs' images", () => {
  it("are files in the repository", async () => {
    const pages = ["README.md", ...(await readdir(join(root, "docs"))).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
    const missing: string[] = [];
    for (const page of pages) {
      const markdown = await readFile(join(root, page), "utf8");
      for (const [, markdownTarget, htmlTarget] of markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)|<img src="([^"]+)"/g)) {
        const target = markdownTarget ?? htmlTarget;
        await access(join(root, page, "..", target!)).catch(() => missing.push(`${page}: ${target}`));
      }
    }
    expect(missing).toEqual([]);
  });
});
