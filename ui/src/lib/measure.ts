/** Text widths for the machine drawing, measured in the drawing's own font (see app.css `.machine text`). */
export const DIAGRAM_FONT = '11px ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace';

let context: CanvasRenderingContext2D | null = null;

export function measureText(text: string): number {
  context ??= document.createElement('canvas').getContext('2d');
  if (!context) return text.length * 7;
  context.font = DIAGRAM_FONT;
  return Math.ceil(context.measureText(text).width);
}
