package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/strata-db/strata/deployer/state"
)

// WriteHuman prints the plan as an operator reads it: one line per change
// with Terraform's glyphs (↻ marks a restart), grouped by host, and a
// summary line.
func (p *Plan) WriteHuman(w io.Writer) error {
	if p.Empty() {
		_, err := fmt.Fprintln(w, "No changes. The cluster matches its description.")
		return err
	}
	var b strings.Builder
	b.WriteString("Strata will perform the following actions:\n")
	width := 0
	for _, c := range p.Changes {
		width = max(width, len(c.Address))
	}
	group := "\x00"
	for _, c := range p.Changes {
		g := c.Host
		if g != group {
			group = g
			if g == "" {
				b.WriteString("\n  # cluster\n")
			} else {
				fmt.Fprintf(&b, "\n  # host %s\n", g)
			}
		}
		fmt.Fprintf(&b, "  %3s %-*s  %s\n", c.Action.Glyph(), width, c.Address, c.Reason)
	}
	add, change, destroy, restart := p.Counts()
	fmt.Fprintf(&b, "\nPlan: %d to add, %d to change, %d to destroy, %d to restart.\n", add, change, destroy, restart)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the plan as one JSON document.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// File is what `strata plan -out FILE` saves: the plan and the desired
// configuration it was made for, so that `strata apply FILE` does exactly
// what was shown.
type File struct {
	FormatVersion int      `json:"format_version"`
	ConfigPath    string   `json:"config_path"`
	Plan          *Plan    `json:"plan"`
	Desired       *Desired `json:"desired"`
}

// SaveFile writes a plan file (mode 0600; it holds rendered configuration).
func SaveFile(path string, f *File) error {
	f.FormatVersion = 1
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("plan: encoding %s: %w", path, err)
	}
	return state.WriteFileAtomic(path, append(data, '\n'), 0o600)
}

// LoadFile reads a plan file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan: reading %s: %w", path, err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("plan: %s is not a plan file: %w", path, err)
	}
	if f.FormatVersion != 1 || f.Plan == nil || f.Desired == nil {
		return nil, fmt.Errorf("plan: %s is not a plan file this strata understands", path)
	}
	return &f, nil
}

// CheckFresh refuses a saved plan whose state has moved on since it was
// made (another apply ran) or whose desired configuration no longer
// matches the description.
func (f *File) CheckFresh(st *state.State, current *Desired) error {
	if st != nil && (st.Lineage != f.Plan.Lineage || st.Serial != f.Plan.Serial) {
		if f.Plan.Lineage != "" && st.Lineage != f.Plan.Lineage {
			return fmt.Errorf("plan: the saved plan is for another cluster (lineage %s, state has %s)", f.Plan.Lineage, st.Lineage)
		}
		return fmt.Errorf("plan: the saved plan is stale: it was made at state serial %d, the state is now at %d; run strata plan again", f.Plan.Serial, st.Serial)
	}
	if st == nil && f.Plan.Lineage != "" {
		return fmt.Errorf("plan: the saved plan was made against a state that no longer exists")
	}
	if current != nil && current.Digest() != f.Plan.DesiredDigest {
		return fmt.Errorf("plan: the saved plan is stale: %s changed since it was made; run strata plan again", f.ConfigPath)
	}
	return nil
}
