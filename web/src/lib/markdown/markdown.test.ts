import { describe, expect, it } from "vitest";
import { isSafeUrl, renderMarkdown } from "./markdown";

/** Parses the rendered HTML as a browser would, to look at elements and attributes. */
function dom(source: string): HTMLElement {
  const root = document.createElement("div");
  root.innerHTML = renderMarkdown(source);
  return root;
}

describe("renderMarkdown", () => {
  it("renders the Markdown of a recipe", () => {
    const root = dom("# Soup\n\n- 2 *carrots*\n- salt\n\n**Stir** well.");
    expect(root.querySelector("h1")?.textContent).toBe("Soup");
    expect(root.querySelectorAll("li")).toHaveLength(2);
    expect(root.querySelector("em")?.textContent).toBe("carrots");
    expect(root.querySelector("strong")?.textContent).toBe("Stir");
  });

  it("shows raw HTML as text: no script element, no element at all", () => {
    const root = dom("Hi <script>alert(1)</script> and <b>bold</b>");
    expect(root.querySelector("script")).toBeNull();
    expect(root.querySelector("b")).toBeNull();
    expect(root.textContent).toContain("<script>alert(1)</script>");
  });

  it("neutralises event handler attributes in raw HTML", () => {
    const root = dom('<img src=x onerror="alert(1)">\n\n<div onclick="alert(2)">x</div>');
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector("[onerror]")).toBeNull();
    expect(root.querySelector("[onclick]")).toBeNull();
    expect(root.textContent).toContain("onerror");
  });

  it("drops javascript:, vbscript: and data: links, also disguised", () => {
    for (const href of [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      "java\tscript:alert(1)",
      " javascript:alert(1)",
      "vbscript:msgbox(1)",
      "data:text/html;base64,PHNjcmlwdD4=",
      "javascript&#58;alert(1)",
    ]) {
      const root = dom(`[click](${href})`);
      const link = root.querySelector("a");
      expect(link, href).toBeNull();
    }
  });

  it("keeps http(s), mailto and relative links; outside ones open apart with noopener", () => {
    const root = dom(
      "[a](https://example.com/x) [b](/article/pie) [c](mailto:cook@example.com) [d](#step-2)",
    );
    const links = [...root.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual([
      "https://example.com/x",
      "/article/pie",
      "mailto:cook@example.com",
      "#step-2",
    ]);
    expect(links[0]?.getAttribute("rel")).toContain("noopener");
    expect(links[1]?.hasAttribute("target")).toBe(false);
  });

  it("loads images only from our own paths; others become links", () => {
    const root = dom("![pie](/api/media/abc) ![tracker](https://evil.example/p.gif)");
    const images = [...root.querySelectorAll("img")];
    expect(images).toHaveLength(1);
    expect(images[0]?.getAttribute("src")).toBe("/api/media/abc");
    expect(root.querySelector('a[href="https://evil.example/p.gif"]')?.textContent).toBe("tracker");
  });

  it("escapes attribute breakouts in link titles and image text", () => {
    const root = dom(
      '[x](/a "t\\" onmouseover=\\"alert(1)") ![a" onerror="alert(1)](/api/media/x)',
    );
    expect(root.querySelector("[onmouseover]")).toBeNull();
    expect(root.querySelector("[onerror]")).toBeNull();
  });
});

describe("isSafeUrl", () => {
  it("accepts web, mail and relative targets", () => {
    for (const url of [
      "https://a.b",
      "http://a.b/c",
      "/x",
      "#y",
      "mailto:a@b.c",
      "page",
      "./p",
      "../p",
    ]) {
      expect(isSafeUrl(url), url).toBe(true);
    }
  });

  it("refuses script and other schemes", () => {
    for (const url of [
      "javascript:x",
      "\u0001javascript:x",
      "data:x",
      "vbscript:x",
      "file:///etc",
      "",
    ]) {
      expect(isSafeUrl(url), url).toBe(false);
    }
  });
});
