/** A progress line on stderr: a bar, events done of the total, the rate and the time left. */
export function progressBar(total: number, width = 30) {
  const started = performance.now();
  const render = (progress: { readonly events: number }) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? progress.events / seconds : 0;
    const share = total > 0 ? Math.min(1, progress.events / total) : 1;
    const filled = Math.round(share * width);
    const left = rate > 0 ? Math.max(0, (total - progress.events) / rate) : 0;
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${progress.events.toLocaleString("en")}/${total.toLocaleString("en")} events  ${Math.round(rate).toLocaleString("en")} ev/s  ETA ${left.toFixed(0)} s`;
  };
  return {
    update: (progress: { readonly events: number }) => process.stderr.write(`\r${render(progress)}`),
    done: () => process.stderr.write("\n"),
  };
}
