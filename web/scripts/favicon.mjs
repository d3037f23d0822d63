// Draws public/favicon.ico (16x16 and 32x32): the logo, a white pot on a tomato-orange disc.
// Each pixel is the average of 8x8 samples of the shapes, so the edges are smooth.
import { writeFileSync } from "node:fs";

const ORANGE = [0xc2, 0x41, 0x0c];
const WHITE = [0xff, 0xff, 0xff];

// Shapes in a 32x32 design space, as functions of (x, y) -> colour or null.
function sample(x, y) {
  const dx = x - 16;
  const dy = y - 16;
  if (dx * dx + dy * dy > 15 * 15) return null;
  const inRim = x >= 6 && x <= 26 && y >= 12.6 && y <= 15.2;
  const inPot =
    x >= 8.5 && x <= 23.5 && y >= 15 && y <= 23.5 && !(y > 21 && (x < 10.5 || x > 21.5));
  const inSteam =
    (Math.abs(x - 13 - Math.sin((y - 6) * 0.9) * 0.9) < 0.9 ||
      Math.abs(x - 19 - Math.sin((y - 6) * 0.9) * 0.9) < 0.9) &&
    y >= 6 &&
    y <= 11;
  if (inRim || inPot || inSteam) return WHITE;
  return ORANGE;
}

function image(size) {
  const scale = 32 / size;
  const n = 8;
  const pixels = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const c = sample((px + (sx + 0.5) / n) * scale, (py + (sy + 0.5) / n) * scale);
          if (c) {
            r += c[0];
            g += c[1];
            b += c[2];
            a += 1;
          }
        }
      }
      // BMP rows go bottom-up, pixels are BGRA.
      const o = ((size - 1 - py) * size + px) * 4;
      pixels[o] = a ? Math.round(b / a) : 0;
      pixels[o + 1] = a ? Math.round(g / a) : 0;
      pixels[o + 2] = a ? Math.round(r / a) : 0;
      pixels[o + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(size, 4);
  header.writeInt32LE(size * 2, 8); // colour plus mask rows
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  header.writeUInt32LE(0, 16);
  header.writeUInt32LE(pixels.length, 20);
  const mask = Buffer.alloc(Math.ceil(size / 32) * 4 * size); // all zero: alpha decides
  return Buffer.concat([header, pixels, mask]);
}

const sizes = [16, 32];
const images = sizes.map(image);
const dir = Buffer.alloc(6);
dir.writeUInt16LE(0, 0);
dir.writeUInt16LE(1, 2);
dir.writeUInt16LE(sizes.length, 4);
let offset = 6 + 16 * sizes.length;
const entries = sizes.map((size, i) => {
  const e = Buffer.alloc(16);
  e.writeUInt8(size, 0);
  e.writeUInt8(size, 1);
  e.writeUInt8(0, 2);
  e.writeUInt8(0, 3);
  e.writeUInt16LE(1, 4);
  e.writeUInt16LE(32, 6);
  e.writeUInt32LE(images[i].length, 8);
  e.writeUInt32LE(offset, 12);
  offset += images[i].length;
  return e;
});
const out = new URL("../public/favicon.ico", import.meta.url);
writeFileSync(out, Buffer.concat([dir, ...entries, ...images]));
console.log(`wrote ${out.pathname}`);
