// A time-series line chart (uPlot) that follows the container's width and the colour scheme.
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** CSS custom property holding the line colour, e.g. "--c-pv". */
  colorVar: string;
  fmt(v: number | null): string;
}

export interface TimeChartOptions {
  series: ChartSeries[];
  axisFmt(v: number): string;
  /** Called with a dragged-out time range (Unix seconds). */
  onSelect?(from: number, to: number): void;
}

type Values = (number | null)[];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Merges series of [time, value] pairs into uPlot's aligned columns. */
export function align(columns: { t: number[]; v: Values }[]): [number[], Values[]] {
  const times = new Set<number>();
  for (const c of columns) for (const t of c.t) times.add(t);
  const x = [...times].sort((a, b) => a - b);
  const index = new Map<number, number>();
  x.forEach((t, i) => index.set(t, i));
  const ys = columns.map((c) => {
    const y: Values = new Array<number | null>(x.length).fill(null);
    c.t.forEach((t, i) => {
      y[index.get(t) as number] = c.v[i];
    });
    return y;
  });
  return [x, ys];
}

export class TimeChart {
  private u: uPlot | null = null;
  private x: number[] = [];
  private ys: Values[];
  private range: [number, number] = [0, 1];
  private readonly ro: ResizeObserver;
  private readonly scheme = window.matchMedia('(prefers-color-scheme: dark)');
  private readonly onScheme = () => this.rebuild();
  private lastWidth = 0;

  constructor(readonly el: HTMLElement, private readonly opts: TimeChartOptions) {
    this.ys = opts.series.map(() => []);
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(el);
    this.scheme.addEventListener('change', this.onScheme);
  }

  /** Shows new data over the time range [from, to] (Unix seconds). */
  setData(x: number[], ys: Values[], from: number, to: number): void {
    this.x = x;
    this.ys = ys;
    this.range = [from, to];
    let points = 0;
    for (const y of ys) for (const v of y) if (v !== null) points++;
    this.el.setAttribute('data-points', String(points));
    if (this.u) this.u.setData([x, ...ys] as uPlot.AlignedData);
    else this.rebuild();
  }

  destroy(): void {
    this.ro.disconnect();
    this.scheme.removeEventListener('change', this.onScheme);
    this.u?.destroy();
    this.u = null;
  }

  private size(): { width: number; height: number } {
    const width = Math.max(280, this.el.clientWidth || 600);
    return { width, height: Math.round(Math.min(360, Math.max(220, width * 0.45))) };
  }

  private resize(): void {
    if (!this.u) return;
    const s = this.size();
    if (s.width === this.lastWidth) return;
    this.lastWidth = s.width;
    this.u.setSize(s);
  }

  private rebuild(): void {
    this.u?.destroy();
    const fg = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(128,128,128,.2)');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const onSelect = this.opts.onSelect;
    const size = this.size();
    this.lastWidth = size.width;
    const options: uPlot.Options = {
      ...size,
      scales: { x: { time: true, range: () => this.range } },
      axes: [axis, { ...axis, size: 64, values: (_u, splits) => splits.map((v) => this.opts.axisFmt(v)) }],
      series: [
        { label: 'Time' },
        ...this.opts.series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.colorVar, '#888'),
          width: 1.5,
          value: (_u: uPlot, v: number | null) => s.fmt(v),
        })),
      ],
      cursor: { drag: { x: !!onSelect, y: false, setScale: false } },
      hooks: {
        draw: [() => performance.mark('sunkeep:chart-drawn')],  // the benchmark times data → drawn
        ...(onSelect
          ? {
              setSelect: [
                (u: uPlot) => {
                  const sel = u.select;
                  if (sel.width < 4) return;
                  const a = u.posToVal(sel.left, 'x');
                  const b = u.posToVal(sel.left + sel.width, 'x');
                  u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
                  onSelect(Math.floor(a), Math.ceil(b));
                },
              ],
            }
          : {}),
      },
    };
    this.u = new uPlot(options, [this.x, ...this.ys] as uPlot.AlignedData, this.el);
  }
}
