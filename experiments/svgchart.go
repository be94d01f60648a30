package experiments

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart is one small multiple: series over a run's seconds, the phases
// shaded, drawn as inline SVG (report.html needs nothing from the network).
type chart struct {
	Title  string
	XMax   float64 // seconds; shared by a row so runs line up
	YMax   float64 // shared by a row so runs compare at a glance
	Log    bool    // log scale from 1 upwards (latency in ms)
	Marks  map[string]float64
	Series []series
	Bands  []band // categorical strips (text gauges) instead of lines
}

type series struct {
	Name   string
	Color  string
	Points [][2]float64 // (second, value)
}

type band struct {
	From, To float64
	Label    string
	Color    string
}

const (
	chartW, chartH         = 330.0, 120.0
	padL, padR, padT, padB = 46.0, 8.0, 16.0, 18.0
)

func (c chart) x(s float64) float64 {
	if c.XMax <= 0 {
		return padL
	}
	return padL + (chartW-padL-padR)*s/c.XMax
}

func (c chart) y(v float64) float64 {
	h := chartH - padT - padB
	if c.Log {
		top := math.Log10(math.Max(c.YMax, 10))
		f := math.Log10(math.Max(v, 1)) / top
		return chartH - padB - h*math.Min(f, 1)
	}
	if c.YMax <= 0 {
		return chartH - padB
	}
	return chartH - padB - h*math.Min(v/c.YMax, 1)
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.4g", v)
}

// SVG renders the chart.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img"><title>%s</title>`,
		chartW, chartH, chartW, chartH, template.HTMLEscapeString(c.Title))
	top, bottom := padT, chartH-padB
	if f, r := c.Marks["fault"], c.Marks["recover"]; r > f {
		fmt.Fprintf(&b, `<rect class="fault" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, c.x(f), top, c.x(r)-c.x(f), bottom-top)
	}
	if r, d := c.Marks["recover"], c.Marks["recovered"]; d > r {
		fmt.Fprintf(&b, `<rect class="recovering" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, c.x(r), top, c.x(d)-c.x(r), bottom-top)
	}
	// axes and ticks
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, bottom, chartW-padR, bottom)
	fmt.Fprintf(&b, `<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, padL, top, padL, bottom)
	var ticks []float64
	if c.Log {
		for v := 1.0; v <= math.Max(c.YMax, 10)*1.0001; v *= 10 {
			ticks = append(ticks, v)
		}
	} else if len(c.Bands) == 0 {
		ticks = []float64{0, c.YMax / 2, c.YMax}
	}
	for _, v := range ticks {
		y := c.y(v)
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			padL, y, chartW-padR, y, padL-3, y+3, num(v))
	}
	step := 5.0
	for c.XMax/step > 8 {
		step *= 2
	}
	for s := 0.0; s <= c.XMax; s += step {
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%.0fs</text>`, c.x(s), chartH-5, s)
	}
	for _, bd := range c.Bands {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
			c.x(bd.From), top+8, math.Max(c.x(bd.To)-c.x(bd.From), 0.5), bottom-top-16, bd.Color, template.HTMLEscapeString(bd.Label))
	}
	for _, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(p[0]), c.y(p[1])))
		}
		fmt.Fprintf(&b, `<polyline class="series" stroke="%s" points="%s"><title>%s</title></polyline>`, s.Color, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
	}
	// legend in the title line (the column header names the run)
	fmt.Fprintf(&b, `<text class="ctitle" x="%.1f" y="11">`, padL)
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<tspan fill="%s">■</tspan> %s `, s.Color, template.HTMLEscapeString(s.Name))
	}
	seen := map[string]bool{}
	for _, bd := range c.Bands {
		if !seen[bd.Label] {
			seen[bd.Label] = true
			fmt.Fprintf(&b, `<tspan fill="%s">■</tspan> %s `, bd.Color, template.HTMLEscapeString(bd.Label))
		}
	}
	b.WriteString(`</text></svg>`)
	return template.HTML(b.String())
}
