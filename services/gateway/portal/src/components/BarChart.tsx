import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { useEffect, useRef } from 'react';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const PALETTE = ['#228be6', '#40c057', '#fab005', '#fa5252', '#7950f2', '#15aabf', '#fd7e14', '#e64980', '#82c91e', '#868e96'];

export interface Series { label: string; values: number[]; color?: string }

/** A stacked bar chart (Chart.js on a canvas); `summary` is what a screen reader hears. */
export function BarChart({ labels, series, summary, testId }: { labels: string[]; series: Series[]; summary: string; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);

  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current!;
    c.data.labels = labels;
    c.data.datasets = series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: s.color ?? PALETTE[i % PALETTE.length] }));
    c.update();
  }, [labels, series]);

  return (
    <div style={{ position: 'relative', height: 240 }}>
      <canvas ref={canvas} role="img" aria-label={summary} data-testid={testId} />
    </div>
  );
}
