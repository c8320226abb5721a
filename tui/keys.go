package tui

import "charm.land/bubbles/v2/key"

// keyMap holds the dashboard's key bindings; their help texts make the
// help bar.
type keyMap struct {
	Quit      key.Binding
	NextView  key.Binding
	PrevView  key.Binding
	Views     key.Binding // 1-5, shown once in help
	Up        key.Binding
	Down      key.Binding
	PageUp    key.Binding
	PageDown  key.Binding
	Top       key.Binding
	Bottom    key.Binding
	Details   key.Binding
	Back      key.Binding
	Filter    key.Binding
	Sort      key.Binding
	Reverse   key.Binding
	Refresh   key.Binding
	Help      key.Binding
	viewByKey map[string]view
}

func newKeyMap() keyMap {
	return keyMap{
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		NextView: key.NewBinding(key.WithKeys("tab", "right", "l"), key.WithHelp("tab", "next view")),
		PrevView: key.NewBinding(key.WithKeys("shift+tab", "left", "h"), key.WithHelp("shift+tab", "prev view")),
		Views:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5"), key.WithHelp("1-5", "view")),
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Details:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Reverse:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse")),
		Refresh:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
		viewByKey: map[string]view{
			"1": viewOverview, "2": viewWorkload, "3": viewProcesses, "4": viewData, "5": viewRollout,
		},
	}
}

// helpFor returns the bindings worth showing in the current view: short
// for the one-line bar, grouped for the full help.
func (k keyMap) helpFor(v view, details bool) (short []key.Binding, full [][]key.Binding) {
	nav := []key.Binding{k.NextView, k.PrevView, k.Views, k.Refresh, k.Quit}
	if v != viewProcesses {
		return []key.Binding{k.NextView, k.Views, k.Refresh, k.Help, k.Quit}, [][]key.Binding{nav, {k.Help}}
	}
	if details {
		return []key.Binding{k.Back, k.Up, k.Down, k.NextView, k.Quit}, [][]key.Binding{{k.Back, k.Up, k.Down}, nav}
	}
	table := []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
	act := []key.Binding{k.Details, k.Filter, k.Sort, k.Reverse, k.Back}
	return []key.Binding{k.Filter, k.Sort, k.Details, k.Up, k.Down, k.NextView, k.Help, k.Quit},
		[][]key.Binding{table, act, append(nav, k.Help)}
}
