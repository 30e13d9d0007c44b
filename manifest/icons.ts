/**
 * Draws the two app icons Teams requires: color.png (192x192, full color) and outline.png (32x32,
 * white on transparent). Run `npx tsx manifest/icons.ts` to regenerate them; the output is
 * deterministic, so the committed files only change when this drawing changes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, type RgbaImage } from './png';

type Rgba = [number, number, number, number];

/** A padlock with a clock-like keyhole: time-bound access. Coordinates are in a 0..1 box. */
function insideLock(x: number, y: number): boolean {
  const body = x >= 0.22 && x <= 0.78 && y >= 0.45 && y <= 0.86;
  const dx = x - 0.5;
  const dy = y - 0.45;
  const r = Math.hypot(dx, dy);
  const shackle = y <= 0.45 && r >= 0.14 && r <= 0.22 && dy <= 0;
  const shackleLegs = y > 0.38 && y <= 0.45 && ((x >= 0.28 && x <= 0.36) || (x >= 0.64 && x <= 0.72));
  const keyhole = Math.hypot(x - 0.5, y - 0.62) <= 0.055 || (Math.abs(x - 0.5) <= 0.025 && y >= 0.62 && y <= 0.76);
  return (body && !keyhole) || shackle || shackleLegs;
}

function draw(size: number, background: Rgba, foreground: Rgba, samples = 4): RgbaImage {
  const pixels = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      // Supersample for smooth edges: coverage blends foreground over background.
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) for (let sx = 0; sx < samples; sx++) if (insideLock((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)) hits++;
      const coverage = hits / (samples * samples);
      const i = (py * size + px) * 4;
      if (background[3] === 0) {
        // Outline icon: pure white, only alpha varies.
        pixels.set([foreground[0], foreground[1], foreground[2], Math.round(foreground[3] * coverage)], i);
      } else {
        for (let c = 0; c < 3; c++) pixels[i + c] = Math.round(foreground[c]! * coverage + background[c]! * (1 - coverage));
        pixels[i + 3] = 255;
      }
    }
  }
  return { width: size, height: size, pixels };
}

export const ACCENT_COLOR = '#0F6CBD';

export function colorIcon(): Buffer {
  return encodePng(draw(192, [0x0f, 0x6c, 0xbd, 255], [255, 255, 255, 255]));
}

export function outlineIcon(): Buffer {
  return encodePng(draw(32, [0, 0, 0, 0], [255, 255, 255, 255]));
}

if (require.main === module) {
  writeFileSync(join(__dirname, 'color.png'), colorIcon());
  writeFileSync(join(__dirname, 'outline.png'), outlineIcon());
  console.log('wrote manifest/color.png (192x192) and manifest/outline.png (32x32)');
}
