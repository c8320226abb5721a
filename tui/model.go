package tui

import (
	"context"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/strata-db/strata/db/status"
)

// view is one of the dashboard's screens.
type view int

const (
	viewOverview view = iota
	viewWorkload
	viewProcesses
	viewData
	viewRollout
	numViews
)

func (v view) title() string {
	return [...]string{"Overview", "Workload", "Processes", "Data", "Rollout"}[v]
}

// Defaults.
const (
	DefaultInterval = time.Second
	fetchTimeout    = 5 * time.Second
	maxRetryDelay   = 10 * time.Second
)

// Options configure a dashboard.
type Options struct {
	Source   Source        // where status comes from; required
	Rollout  RolloutReader // rollout events; nil when there is no journal
	Interval time.Duration // time between refreshes; DefaultInterval when zero
	Color    bool          // false honours NO_COLOR: attributes only
	// Location is the time zone clock times are shown in; time.Local when
	// nil.
	Location *time.Location
	// Context bounds fetches; context.Background when nil.
	Context context.Context
}

// Messages the model receives from its commands.
type (
	// statusMsg is the result of one Fetch.
	statusMsg struct {
		st  *status.Status
		err error
		at  time.Time
	}
	// tickMsg asks for the next refresh.
	tickMsg struct{ at time.Time }
	// rolloutMsg carries the events read since the previous read.
	rolloutMsg struct {
		events []RolloutEvent
		err    error
		at     time.Time
	}
)

// Model is the dashboard's state. It is a Bubble Tea model: Update folds
// messages in, View renders, and neither does I/O.
type Model struct {
	opts   Options
	keys   keyMap
	help   help.Model
	styles Styles
	dim    Styles

	width, height int
	view          view
	fullHelp      bool

	// The most recent document, and the most recent one that had a
	// cluster section: the latter is what is shown, dimmed, while the
	// cluster cannot be reached.
	cur        *status.Status
	curAt      time.Time
	lastGood   *status.Status
	lastGoodAt time.Time
	fetchErr   error     // the last fetch's error, nil after a success
	downSince  time.Time // first failure of the current outage
	failures   int       // consecutive failures, for the retry delay
	now        time.Time // the time of the latest message
	fetching   bool
	hist       history

	rows      []procRow // every process, sorted
	visible   []int     // indexes into rows that pass the filter
	sortBy    sortKey
	sortDesc  bool
	filter    string
	filtering bool // typing a filter
	selID     string
	sel       int // index into visible
	offset    int // first visible row shown
	details   bool

	rollout     rollout
	readingRoll bool
	quitting    bool
}

// New returns a dashboard reading from opts.Source.
func New(opts Options) Model {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	m := Model{
		opts:   opts,
		keys:   newKeyMap(),
		help:   help.New(),
		styles: newStyles(opts.Color),
		width:  80,
		height: 24,
	}
	m.dim = m.styles.dimmed(opts.Color)
	m.help.Styles = m.styles.Help
	// Init starts the first fetch and read, so they are in flight from
	// the start: a tick must not start a second one beside them.
	m.fetching = opts.Source != nil
	m.readingRoll = opts.Rollout != nil
	return m
}

// Init starts the first fetch and the first read of rollout events.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.fetchCmd(), m.readRolloutCmd())
}

// fetchCmd runs one Fetch off the Update loop.
func (m Model) fetchCmd() tea.Cmd {
	src, parent := m.opts.Source, m.opts.Context
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, fetchTimeout)
		defer cancel()
		st, err := src.Fetch(ctx)
		return statusMsg{st: st, err: err, at: time.Now()}
	}
}

// readRolloutCmd reads new rollout events, if there is a journal.
func (m Model) readRolloutCmd() tea.Cmd {
	r, ctx := m.opts.Rollout, m.opts.Context
	if r == nil {
		return nil
	}
	return func() tea.Msg {
		evs, err := r.ReadEvents(ctx)
		return rolloutMsg{events: evs, err: err, at: time.Now()}
	}
}

// retryDelay is the wait before the next fetch: the interval while the
// cluster answers, doubling per consecutive failure up to maxRetryDelay.
func (m Model) retryDelay() time.Duration {
	d := m.opts.Interval
	for i := 0; i < m.failures && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, max(maxRetryDelay, m.opts.Interval))
}

func tickAfter(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg{at: t} })
}

// Update folds one message into the model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.keepSelectionVisible()
		return m, nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case statusMsg:
		m.applyStatus(msg)
		return m, tickAfter(m.retryDelay())
	case rolloutMsg:
		m.readingRoll = false
		m.now = later(m.now, msg.at)
		m.rollout.add(msg.events)
		m.rollout.err = msg.err
		return m, nil
	case tickMsg:
		m.now = later(m.now, msg.at)
		var cmds []tea.Cmd
		if !m.fetching {
			m.fetching = true
			cmds = append(cmds, m.fetchCmd())
		}
		if m.opts.Rollout != nil && !m.readingRoll {
			m.readingRoll = true
			cmds = append(cmds, m.readRolloutCmd())
		}
		return m, tea.Batch(cmds...)
	}
	return m, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// applyStatus records a fetch result.
func (m *Model) applyStatus(msg statusMsg) {
	m.fetching = false
	m.now = later(m.now, msg.at)
	if msg.err != nil {
		m.fetchErr = msg.err
		if m.failures == 0 {
			m.downSince = msg.at
		}
		m.failures++
		return
	}
	m.fetchErr = nil
	m.cur, m.curAt = msg.st, msg.at
	if msg.st.Cluster == nil {
		if m.failures == 0 {
			m.downSince = msg.at
		}
		m.failures++
		return
	}
	m.failures = 0
	m.downSince = time.Time{}
	m.lastGood, m.lastGoodAt = msg.st, msg.at
	m.hist.record(&msg.st.Cluster.Workload)
	m.rows = buildRows(msg.st.Cluster)
	m.sortRows()
}

// reachable reports whether the latest attempt reached the cluster.
func (m Model) reachable() bool {
	return m.fetchErr == nil && m.cur != nil && m.cur.Cluster != nil
}

// sortRows sorts rows and recomputes the filtered view, keeping the
// selected process selected.
func (m *Model) sortRows() {
	key, desc := m.sortBy, m.sortDesc
	m.rows = slices.Clone(m.rows) // earlier models share the old slice
	slices.SortFunc(m.rows, func(a, b procRow) int {
		c := compareRows(&a, &b, key)
		if desc {
			return -c
		}
		return c
	})
	m.applyFilter()
}

// applyFilter recomputes which rows pass the filter.
func (m *Model) applyFilter() {
	needle := strings.ToLower(strings.TrimSpace(m.filter))
	m.visible = make([]int, 0, len(m.rows))
	for i := range m.rows {
		if needle == "" || strings.Contains(m.rows[i].haystack, needle) {
			m.visible = append(m.visible, i)
		}
	}
	m.sel = 0
	for i, r := range m.visible {
		if m.rows[r].id == m.selID {
			m.sel = i
		}
	}
	m.selectIndex(m.sel)
}

// selectIndex moves the selection to visible row i, clamped.
func (m *Model) selectIndex(i int) {
	m.sel = max(0, min(i, len(m.visible)-1))
	m.selID = ""
	if m.sel < len(m.visible) {
		m.selID = m.rows[m.visible[m.sel]].id
	}
	m.keepSelectionVisible()
}

// keepSelectionVisible scrolls the table so the selected row shows.
func (m *Model) keepSelectionVisible() {
	n := m.tableRows()
	if m.sel < m.offset {
		m.offset = m.sel
	}
	if m.sel >= m.offset+n {
		m.offset = m.sel - n + 1
	}
	m.offset = max(0, min(m.offset, len(m.visible)-n))
}

// selected returns the selected row, if any.
func (m Model) selected() (*procRow, bool) {
	if m.sel < 0 || m.sel >= len(m.visible) {
		return nil, false
	}
	return &m.rows[m.visible[m.sel]], true
}

// views lists the views shown: Rollout only once there are events.
func (m Model) views() []view {
	vs := []view{viewOverview, viewWorkload, viewProcesses, viewData}
	if !m.rollout.empty() || m.rollout.err != nil {
		vs = append(vs, viewRollout)
	}
	return vs
}

func (m *Model) switchView(step int) {
	vs := m.views()
	i := max(0, slices.Index(vs, m.view))
	m.view = vs[(i+step+len(vs))%len(vs)]
	m.details = false
}

// handleKey applies one key press.
func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.filtering {
		return m.handleFilterKey(msg)
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		m.quitting = true
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.fullHelp = !m.fullHelp
	case key.Matches(msg, k.NextView):
		m.switchView(1)
	case key.Matches(msg, k.PrevView):
		m.switchView(-1)
	case key.Matches(msg, k.Views):
		if v := k.viewByKey[msg.String()]; slices.Contains(m.views(), v) {
			m.view, m.details = v, false
		}
	case key.Matches(msg, k.Refresh):
		if !m.fetching {
			m.fetching = true
			return m, m.fetchCmd()
		}
	default:
		if m.view == viewProcesses {
			m.handleTableKey(msg)
		}
	}
	return m, nil
}

// handleTableKey applies the keys of the process table.
func (m *Model) handleTableKey(msg tea.KeyPressMsg) {
	k := m.keys
	page := max(1, m.tableRows()-1)
	switch {
	case key.Matches(msg, k.Up):
		m.selectIndex(m.sel - 1)
	case key.Matches(msg, k.Down):
		m.selectIndex(m.sel + 1)
	case key.Matches(msg, k.PageUp):
		m.selectIndex(m.sel - page)
	case key.Matches(msg, k.PageDown):
		m.selectIndex(m.sel + page)
	case key.Matches(msg, k.Top):
		m.selectIndex(0)
	case key.Matches(msg, k.Bottom):
		m.selectIndex(len(m.visible) - 1)
	case key.Matches(msg, k.Details):
		_, ok := m.selected()
		m.details = ok && !m.details
	case key.Matches(msg, k.Back):
		if m.details {
			m.details = false
		} else if m.filter != "" {
			m.filter = ""
			m.applyFilter()
		}
	case key.Matches(msg, k.Filter):
		m.filtering, m.details = true, false
	case key.Matches(msg, k.Sort):
		m.sortBy = (m.sortBy + 1) % numSortKeys
		m.sortRows()
	case key.Matches(msg, k.Reverse):
		m.sortDesc = !m.sortDesc
		m.sortRows()
	}
}

// handleFilterKey edits the filter while it is being typed: enter keeps
// it, esc drops it.
func (m Model) handleFilterKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "ctrl+c":
		m.quitting = true
		return m, tea.Quit
	case "enter":
		m.filtering = false
	case "esc":
		m.filtering, m.filter = false, ""
	case "backspace":
		if r := []rune(m.filter); len(r) > 0 {
			m.filter = string(r[:len(r)-1])
		}
	case "ctrl+u":
		m.filter = ""
	default:
		if msg.Text != "" {
			m.filter += msg.Text
		} else if msg.String() == "space" {
			m.filter += " "
		}
	}
	m.applyFilter()
	return m, nil
}
