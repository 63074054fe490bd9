# clustered_bars.gp — one cluster of bars per benchmark, one bar per allocator.
#
# Variables (gnuplot -e): datafile (tab-separated, header row "benchmark<TAB>alloc…",
# '?' for a missing value), outfile (PNG), chart_title, y_label, columns (number of
# allocators), width and height (pixels), label_chars (longest benchmark name, to
# leave room for the slanted labels), log_y (1 for a logarithmic y axis).
set terminal pngcairo size width,height font "sans,10" noenhanced
set linetype 1 lc rgb "#d62728"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#ff7f0e"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#8c564b"
set output outfile
set datafile separator "\t"
set datafile missing "?"
set title chart_title
set ylabel y_label
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -45 scale 0 nomirror
set grid ytics
set rmargin 2 + 0.7 * label_chars
set key top left horizontal outside reverse Left samplen 2
set yrange [0:*]
if (log_y) {
    set logscale y
    set ytics (1, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
    set yrange [0.9:*]
}
plot for [i=2:columns+1] datafile using i:xtic(1) title columnheader(i)
