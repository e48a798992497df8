// Command perfplot draws the figures of docs/PERFORMANCE.md from the JSON
// that `pagereply bench MODE --json FILE` writes: reply throughput against
// asynq concurrency (bench pipeline) and enqueue-to-send latency against
// offered load (bench latency), side by side in one PNG. It is a program of
// its own so that the pagereply binary does not carry a plotting library.
//
//	go run ./bench/perfplot -in results.json -out docs/perf.png
package main

//go:generate go run . -in perf.json -out ../../docs/perf.png

import (
	"errors"
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/pagereply/pagereply/bench"
)

func main() {
	in := flag.String("in", "results.json", "results written by pagereply bench --json")
	out := flag.String("out", "perf.png", "the PNG to write")
	flag.Parse()
	r, err := bench.ReadResults(*in)
	if err == nil {
		err = Draw(r, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfplot:", err)
		os.Exit(1)
	}
}

// Draw writes the two panels of r as a PNG to path.
func Draw(r *bench.Results, path string) error {
	if len(r.Pipeline) == 0 || r.Latency == nil || len(r.Latency.Median.Points) == 0 {
		return errors.New("the results need a pipeline and a latency section (run pagereply bench pipeline and latency with --json)")
	}
	note := ""
	if r.Machine != nil {
		note = fmt.Sprintf("%d cores (shared, noisy), Redis %s, %s\n", r.Machine.Cores, r.Machine.Redis, r.Machine.Go)
	}
	note += "points: median of the runs; bars: lowest and highest run"
	left, err := throughputPlot(r.Pipeline, note)
	if err != nil {
		return err
	}
	right, err := latencyPlot(r.Latency, note)
	if err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(13*vg.Inch, 5*vg.Inch), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	left.Draw(tiles.At(dc, 0, 0))
	right.Draw(tiles.At(dc, 1, 0))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var (
	blue   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	green  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	red    = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// series is a line of medians with min–max error bars over the runs.
type series struct {
	plotter.XYs
	plotter.YErrors
}

func addSeries(p *plot.Plot, name string, c color.Color, shape draw.GlyphDrawer, s series) error {
	l, pts, err := plotter.NewLinePoints(s.XYs)
	if err != nil {
		return err
	}
	l.Color, pts.Color, pts.Shape, pts.Radius = c, c, shape, vg.Points(3.5)
	l.Width = vg.Points(1.5)
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	if s.YErrors != nil {
		eb, err := plotter.NewYErrorBars(s)
		if err != nil {
			return err
		}
		eb.Color = c
		p.Add(eb)
	}
	return nil
}

// spreadOf returns the distance from the median down to the lowest run and
// up to the highest.
func spreadOf(median float64, runs []float64) plotter.YErrors {
	if len(runs) == 0 {
		return plotter.YErrors{{}}
	}
	return plotter.YErrors{{Low: median - slices.Min(runs), High: slices.Max(runs) - median}}
}

func throughputPlot(rows []bench.PipelineRow, note string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Replies per second against asynq concurrency\n" + note
	p.X.Label.Text = "asynq server concurrency (log scale)"
	p.Y.Label.Text = "tasks drained per second"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, ticksAt(rows, func(r bench.PipelineRow) float64 { return float64(r.Concurrency) })
	p.Y.Min = 0
	var bare, pipe series
	for _, r := range rows {
		x := float64(r.Concurrency)
		var b, q []float64
		for _, run := range r.Runs {
			b, q = append(b, run.BarePerSec), append(q, run.PipePerSec)
		}
		bare.XYs = append(bare.XYs, plotter.XY{X: x, Y: r.BarePerSec})
		bare.YErrors = append(bare.YErrors, spreadOf(r.BarePerSec, b)...)
		pipe.XYs = append(pipe.XYs, plotter.XY{X: x, Y: r.PipePerSec})
		pipe.YErrors = append(pipe.YErrors, spreadOf(r.PipePerSec, q)...)
	}
	if err := addSeries(p, "bare asynq (no-op handler)", blue, draw.CircleGlyph{}, bare); err != nil {
		return nil, err
	}
	if err := addSeries(p, "full reply path (ledger, limiter, send, mark)", orange, draw.TriangleGlyph{}, pipe); err != nil {
		return nil, err
	}
	p.Legend.Top, p.Legend.Left = false, true
	p.Add(plotter.NewGrid())
	p.Y.Max *= 1.15
	p.X.Min /= 1.3
	p.X.Max *= 1.3
	return p, nil
}

func latencyPlot(s *bench.Section[bench.LatencyResult], note string) (*plot.Plot, error) {
	pts := s.Median.Points
	p := plot.New()
	p.Title.Text = "Enqueue-to-send latency against offered load\n" + note
	p.X.Label.Text = "offered replies per second (open loop, log scale)"
	p.Y.Label.Text = "latency, ms (log scale)"
	// Each load's tick says what the system achieved there.
	var ticks plot.ConstantTicks
	for _, q := range pts {
		ticks = append(ticks, plot.Tick{Value: q.Offered, Label: fmt.Sprintf("%.0f\n(sent %.0f/s)", q.Offered, q.Throughput)})
	}
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, ticks
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, ticks125{}
	pick := []struct {
		name  string
		c     color.Color
		shape draw.GlyphDrawer
		get   func(bench.Latency) float64
	}{
		{"p50", green, draw.CircleGlyph{}, func(l bench.Latency) float64 { return l.P50 }},
		{"p95", blue, draw.SquareGlyph{}, func(l bench.Latency) float64 { return l.P95 }},
		{"p99", red, draw.TriangleGlyph{}, func(l bench.Latency) float64 { return l.P99 }},
	}
	for _, k := range pick {
		var sr series
		for i, q := range pts {
			var runs []float64
			for _, r := range s.Runs {
				if i < len(r.Points) {
					runs = append(runs, k.get(r.Points[i].Latency))
				}
			}
			m := k.get(q.Latency)
			sr.XYs = append(sr.XYs, plotter.XY{X: q.Offered, Y: max(m, 0.1)})
			sr.YErrors = append(sr.YErrors, spreadOf(m, runs)...)
		}
		if err := addSeries(p, k.name, k.c, k.shape, sr); err != nil {
			return nil, err
		}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Inch/2, -vg.Inch/2
	p.Y.Min /= 2
	p.Y.Max *= 2
	p.X.Min /= 1.5
	p.X.Max *= 1.5
	return p, nil
}

// ticks125 marks a log axis at 1, 2, 5, 10, 20, 50, ...
type ticks125 struct{}

func (ticks125) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for d := math.Pow(10, math.Floor(math.Log10(min))); d <= max; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v >= min && v <= max {
				t = append(t, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	return t
}

// ticksAt puts the axis ticks at the measured values.
func ticksAt[T any](xs []T, get func(T) float64) plot.ConstantTicks {
	var t plot.ConstantTicks
	for _, x := range xs {
		v := get(x)
		t = append(t, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return t
}
