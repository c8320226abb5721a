package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every style the dashboard renders with. Without colour
// (NO_COLOR) they use only attributes (bold, faint, reverse), and every
// state is also spelled by a symbol, so nothing depends on colour alone.
type Styles struct {
	Title       lipgloss.Style // the program and cluster name
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	Label       lipgloss.Style // left-hand labels and table headers
	Value       lipgloss.Style
	Muted       lipgloss.Style // secondary text
	OK          lipgloss.Style
	Warn        lipgloss.Style
	Bad         lipgloss.Style
	Info        lipgloss.Style // maintenance, running steps
	Selected    lipgloss.Style // the selected table row
	Banner      lipgloss.Style // the "unreachable" banner
	Spark       lipgloss.Style
	Help        help.Styles
}

// Palette, as hex colours that lipgloss downsamples to the terminal.
const (
	colorGreen  = "#3fb950"
	colorYellow = "#d29922"
	colorRed    = "#f85149"
	colorBlue   = "#58a6ff"
	colorGrey   = "#8b949e"
	colorAccent = "#bc8cff"
)

// newStyles builds the styles, with colour or without.
func newStyles(color bool) Styles {
	s := Styles{
		Title:       lipgloss.NewStyle().Bold(true),
		TabActive:   lipgloss.NewStyle().Bold(true).Reverse(true),
		TabInactive: lipgloss.NewStyle(),
		Label:       lipgloss.NewStyle().Bold(true),
		Value:       lipgloss.NewStyle(),
		Muted:       lipgloss.NewStyle().Faint(true),
		OK:          lipgloss.NewStyle(),
		Warn:        lipgloss.NewStyle().Bold(true),
		Bad:         lipgloss.NewStyle().Bold(true),
		Info:        lipgloss.NewStyle(),
		Selected:    lipgloss.NewStyle().Reverse(true),
		Banner:      lipgloss.NewStyle().Bold(true).Reverse(true),
		Spark:       lipgloss.NewStyle(),
	}
	if color {
		s.Title = s.Title.Foreground(lipgloss.Color(colorAccent))
		s.Label = s.Label.Foreground(lipgloss.Color(colorBlue))
		s.Muted = lipgloss.NewStyle().Foreground(lipgloss.Color(colorGrey))
		s.OK = s.OK.Foreground(lipgloss.Color(colorGreen))
		s.Warn = s.Warn.Foreground(lipgloss.Color(colorYellow))
		s.Bad = s.Bad.Foreground(lipgloss.Color(colorRed))
		s.Info = s.Info.Foreground(lipgloss.Color(colorBlue))
		s.Banner = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color(colorRed))
		s.Spark = s.Spark.Foreground(lipgloss.Color(colorGreen))
	}
	s.Help = help.Styles{
		ShortKey:       s.Label,
		ShortDesc:      s.Muted,
		ShortSeparator: s.Muted,
		Ellipsis:       s.Muted,
		FullKey:        s.Label,
		FullDesc:       s.Muted,
		FullSeparator:  s.Muted,
	}
	return s
}

// dimmed returns the styles for stale data (the cluster is unreachable):
// everything faint and, with colour, grey, so old numbers cannot be
// mistaken for live ones. The banner and help stay as they are.
func (s Styles) dimmed(color bool) Styles {
	dim := func(st lipgloss.Style) lipgloss.Style {
		st = st.Faint(true)
		if color {
			st = st.Foreground(lipgloss.Color(colorGrey))
		}
		return st
	}
	d := s
	for _, p := range []*lipgloss.Style{&d.Title, &d.Label, &d.Value, &d.Muted, &d.OK, &d.Warn, &d.Bad, &d.Info, &d.Spark} {
		*p = dim(*p)
	}
	return d
}
