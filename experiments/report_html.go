package experiments

import (
	"html/template"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// html is report.html: the runs side by side on one time axis, a row of
// small multiples per figure (traffic, errors by class, latency, each
// watched counter and gauge), the phases shaded; then each run's checks
// with their margins, and the ablation matrix where there is one. One
// self-contained file: no script, style or font from anywhere else, and a
// Content-Security-Policy that lets the browser load nothing else either.
func (s *Saved) html(w io.Writer) error {
	return reportPage.Execute(w, s.page())
}

type htmlPage struct {
	R        SavedReport
	Runs     []SavedRun
	Rows     []htmlRow
	Ablation *Ablation
}

type htmlRow struct {
	Name   string
	Charts []chart // one per run, in the runs' order
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

func (s *Saved) page() htmlPage {
	p := htmlPage{R: s.Report, Runs: slices.Clone(s.Report.Runs), Ablation: s.Ablation}
	byRun := map[string][]TimelineLine{}
	for _, l := range s.Lines {
		byRun[l.Run] = append(byRun[l.Run], l)
	}
	for k := range byRun {
		sort.Slice(byRun[k], func(i, j int) bool { return byRun[k][i].Second < byRun[k][j].Second })
	}
	xmax := 1.0
	for i, r := range p.Runs {
		ls := byRun[r.Name()]
		if len(r.Marks) == 0 {
			p.Runs[i].Marks = marksOf(ls) // a folder written before summary.json had marks
		}
		xmax = math.Max(xmax, p.Runs[i].Marks["end"])
		if n := len(ls); n > 0 {
			xmax = math.Max(xmax, float64(ls[n-1].Second+1))
		}
	}
	// row builds one chart per run from a per-run series function; runs at
	// the same load share the y scale, so unprotected and protected compare
	// at a glance (and a normal-load run is not flattened by its 10x peak)
	row := func(name string, log bool, f func(ls []TimelineLine) []series) {
		hr := htmlRow{Name: name}
		ymax := map[Level]float64{}
		for _, r := range p.Runs {
			ss := f(byRun[r.Name()])
			for _, se := range ss {
				for _, pt := range se.Points {
					ymax[r.Level] = math.Max(ymax[r.Level], pt[1])
				}
			}
			hr.Charts = append(hr.Charts, chart{Title: r.Name(), XMax: xmax, Log: log, Marks: r.Marks, Series: ss})
		}
		for i, r := range p.Runs {
			hr.Charts[i].YMax = niceMax(ymax[r.Level])
		}
		p.Rows = append(p.Rows, hr)
	}
	line := func(name, color string, ls []TimelineLine, v func(TimelineLine) (float64, bool)) series {
		se := series{Name: name, Color: color}
		for _, l := range ls {
			if y, ok := v(l); ok {
				se.Points = append(se.Points, [2]float64{float64(l.Second), y})
			}
		}
		return se
	}
	errs := func(l TimelineLine) float64 {
		n := int64(0)
		for _, c := range l.Client.All.Errors {
			n += c
		}
		return float64(n)
	}
	row("requests per second (by scheduled second)", false, func(ls []TimelineLine) []series {
		return []series{
			line("offered", "#7f7f7f", ls, func(l TimelineLine) (float64, bool) { return float64(l.Client.All.Offered), true }),
			line("ok", "#2ca02c", ls, func(l TimelineLine) (float64, bool) { return float64(l.Client.All.OK - l.Client.All.Degraded), true }),
			line("degraded", "#ff7f0e", ls, func(l TimelineLine) (float64, bool) { return float64(l.Client.All.Degraded), true }),
			line("errors", "#d62728", ls, func(l TimelineLine) (float64, bool) { return errs(l), true }),
			line("dropped", "#9467bd", ls, func(l TimelineLine) (float64, bool) { return float64(l.Client.All.Dropped), true }),
		}
	})
	classes := errorClasses(s.Lines, 4)
	if len(classes) > 0 {
		row("errors per second by class", false, func(ls []TimelineLine) []series {
			var out []series
			for i, c := range classes {
				out = append(out, line(c, palette[i%len(palette)], ls, func(l TimelineLine) (float64, bool) {
					return float64(l.Client.All.Errors[c]), true
				}))
			}
			return out
		})
	}
	row("latency, ms (log scale)", true, func(ls []TimelineLine) []series {
		lat := func(d func(TimelineLine) time.Duration) func(TimelineLine) (float64, bool) {
			return func(l TimelineLine) (float64, bool) { return d(l).Seconds() * 1000, l.Client.All.Completed > 0 }
		}
		return []series{
			line("p50", "#1f77b4", ls, lat(func(l TimelineLine) time.Duration { return l.Client.All.P50 })),
			line("p99", "#d62728", ls, lat(func(l TimelineLine) time.Duration { return l.Client.All.P99 })),
		}
	})
	for _, k := range s.Report.Watch {
		row(k+" per second", false, func(ls []TimelineLine) []series {
			se := series{Name: k, Color: "#1f77b4"}
			var prev *TimelineLine
			for i := range ls {
				l := &ls[i]
				v, ok := l.API[k]
				if !ok {
					continue
				}
				if prev != nil && l.Second > prev.Second {
					se.Points = append(se.Points, [2]float64{float64(l.Second), math.Max(0, (v-prev.API[k])/float64(l.Second-prev.Second))})
				}
				prev = l
			}
			return []series{se}
		})
	}
	for _, k := range s.Report.Gauges {
		if textGauge(s.Lines, k) {
			p.Rows = append(p.Rows, bandRow(k, p.Runs, byRun, xmax))
			continue
		}
		row(k, false, func(ls []TimelineLine) []series {
			return []series{line(k, "#8c564b", ls, func(l TimelineLine) (float64, bool) { v, ok := l.API[k]; return v, ok })}
		})
	}
	return p
}

// marksOf reads the phase marks off the timeline's per-second phases, to
// the second: the fault from its first second, recovery from its first.
func marksOf(ls []TimelineLine) map[string]float64 {
	m := map[string]float64{}
	for _, l := range ls {
		sec := float64(l.Second)
		switch l.Phase {
		case string(Faulted):
			if _, ok := m["fault"]; !ok {
				m["fault"] = sec
			}
		case string(Recovery):
			if _, ok := m["recover"]; !ok {
				m["recover"] = sec
			}
		}
		m["end"] = sec + 1
	}
	return m
}

// errorClasses are the n most frequent error classes over the whole folder.
func errorClasses(ls []TimelineLine, n int) []string {
	tot := map[string]int64{}
	for _, l := range ls {
		for c, v := range l.Client.All.Errors {
			tot[c] += v
		}
	}
	var cs []string
	for c, v := range tot {
		if v > 0 {
			cs = append(cs, c)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return tot[cs[i]] > tot[cs[j]] || tot[cs[i]] == tot[cs[j]] && cs[i] < cs[j] })
	if len(cs) > n {
		cs = cs[:n]
	}
	return cs
}

func textGauge(ls []TimelineLine, k string) bool {
	for _, l := range ls {
		if _, ok := l.APIText[k]; ok {
			return true
		}
	}
	return false
}

// bandRow draws a text gauge (breaker state) as colored spans per run.
func bandRow(k string, runs []SavedRun, byRun map[string][]TimelineLine, xmax float64) htmlRow {
	hr := htmlRow{Name: k}
	colors := map[string]string{}
	for _, r := range runs {
		c := chart{Title: r.Name(), XMax: xmax, Marks: r.Marks}
		for _, l := range byRun[r.Name()] {
			v, ok := l.APIText[k]
			if !ok {
				continue
			}
			if _, ok := colors[v]; !ok {
				colors[v] = palette[(len(colors)+2)%len(palette)]
			}
			if n := len(c.Bands); n > 0 && c.Bands[n-1].Label == v && c.Bands[n-1].To == float64(l.Second) {
				c.Bands[n-1].To++
				continue
			}
			c.Bands = append(c.Bands, band{From: float64(l.Second), To: float64(l.Second + 1), Label: v, Color: colors[v]})
		}
		hr.Charts = append(hr.Charts, c)
	}
	return hr
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{"join": strings.Join}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{{.R.Experiment}} — {{.R.Verdict}}</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.PASS { color: #1a7f37; font-weight: 600; } .FAIL { color: #cf222e; font-weight: 600; } .UNKNOWN { color: #9a6700; font-weight: 600; }
table.grid { border-collapse: collapse; } table.grid td, table.grid th { padding: 2px 4px; vertical-align: top; }
th.row { text-align: right; font-weight: normal; color: #555; width: 120px; min-width: 120px; max-width: 120px; overflow-wrap: anywhere; }
.chart { background: #fff; border: 1px solid #ddd; }
.chart .fault { fill: #fbe3e3; } .chart .recovering { fill: #fdf0d5; }
.chart .axis { stroke: #999; stroke-width: 1; } .chart .grid { stroke: #eee; stroke-width: 1; }
.chart .tick { font-size: 9px; fill: #666; } .chart .ctitle { font-size: 10px; fill: #333; }
.chart .series { fill: none; stroke-width: 1.4; }
.runs { display: flex; flex-wrap: wrap; gap: 16px; }
table.checks { border-collapse: collapse; margin-top: 4px; } table.checks td, table.checks th { border: 1px solid #ddd; padding: 3px 6px; text-align: left; }
.note { color: #555; }
</style></head><body>
<h1>{{.R.Experiment}} — {{.R.Title}}</h1>
<p>Seed scenario {{.R.Scenario}}. Verdict: <span class="{{.R.Verdict}}">{{.R.Verdict}}</span>. Time scale {{printf "%.2f" .R.Scale}}, wall {{printf "%.0f" .R.Wall}} s, started {{.R.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}. Runs replayed after a weak baseline: {{.R.Replays}}.{{with .R.Set}} Settings overridden with --set: {{join . ", "}}.{{end}}</p>
<p class="note">Each column is a run, each row one figure on the same time axis (seconds since load start); runs at the same load share a row's scale. Shaded red: the fault; shaded amber: recovery in progress (restart, promotion, warm-up) until the system was recovered. Client figures are by the second a request was scheduled.</p>
<table class="grid"><tr><th></th>{{range .Runs}}<th>{{.Variant}} / {{.Level}} — <span class="{{.Status}}">{{.Status}}</span>{{if and .Scale (ne .Scale $.R.Scale)}}<br>time scale {{printf "%.2f" .Scale}} (its checks need longer phases){{end}}{{if .Broken}}<br>broken: {{range .Broken}}{{.}} {{end}}{{end}}</th>{{end}}</tr>
{{range .Rows}}<tr><th class="row">{{.Name}}</th>{{range .Charts}}<td>{{.SVG}}</td>{{end}}</tr>
{{end}}</table>
<h2>Checks</h2>
<div class="runs">{{range .Runs}}<div><b>{{.Variant}} / {{.Level}}</b> — <span class="{{.Status}}">{{.Status}}</span>{{if .Err}}<br><span class="note">run error: {{.Err}}</span>{{end}}
<table class="checks"><tr><th>check</th><th>status</th><th>measured</th><th>threshold</th><th>margin</th></tr>
{{range .Outcomes}}<tr><td>{{.Check}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Measured}}</td><td>{{.Threshold}}</td><td>{{.Margin}}</td></tr>
{{end}}</table>{{range .Notes}}<div class="note">{{.}}</div>{{end}}</div>
{{end}}</div>
{{with .Ablation}}<h2>Ablation</h2>
<p class="note">The protected run with everything on (reference), then with one protection switched off at a time: each cell lists the checks that failed.</p>
<table class="checks"><tr><th>switched off</th><th>load</th><th>status</th><th>checks that failed</th></tr>
{{range .Reference}}<tr><td>(none: reference)</td><td>{{.Level}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Err}}</td></tr>
{{end}}{{range .Rows}}<tr><td>{{.Protection}}</td><td>{{.Level}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{range .Broke}}{{.Check}}: {{.Measured}} vs {{.Threshold}}<br>{{end}}{{.Err}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`))
