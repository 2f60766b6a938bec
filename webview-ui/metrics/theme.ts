// The chart colours, font and line width, read from the VS Code theme's CSS variables (charts draw
// on canvas, so CSS alone cannot colour them).

export interface Theme {
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
  readonly palette: readonly string[];
  readonly font: string;
  readonly lineWidth: number;
  readonly highContrast: boolean;
}

const PALETTE_VARS = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'];
const PALETTE_FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
/** Beyond six series colours repeat with another dash pattern, so lines stay apart without colour too. */
const DASHES: readonly number[][] = [[], [6, 3], [2, 2], [10, 3, 2, 3]];

export function readTheme(): Theme {
  const cs = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  const fg = v('--vscode-editor-foreground', v('--vscode-foreground', '#cccccc'));
  return {
    fg,
    muted: v('--vscode-descriptionForeground', fg),
    grid: highContrast ? v('--vscode-contrastBorder', fg) : v('--vscode-panel-border', 'rgba(128,128,128,0.35)'),
    palette: PALETTE_VARS.map((name, i) => v(name, PALETTE_FALLBACK[i])),
    font: `11px ${v('--vscode-font-family', 'system-ui, sans-serif')}`,
    lineWidth: highContrast ? 2 : 1.5,
    highContrast,
  };
}

export function styleFor(theme: Theme, i: number): { stroke: string; dash: number[] } {
  const n = theme.palette.length;
  return { stroke: theme.palette[i % n], dash: DASHES[Math.floor(i / n) % DASHES.length] };
}
