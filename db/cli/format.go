package cli

import (
	"fmt"
	"strings"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/tuple"
)

// printable renders a key or value as fdbcli prints them: printable ASCII
// as is, a backslash as \\, every other byte as \xNN (lower-case hex).
func printable(b []byte) string { return kv.Printable(b) }

// echoToken renders a token so that it parses back to itself, as fdbcli
// echoes each command of a multi-command line: \\, \", spaces as \x20 and
// bytes outside printable ASCII as \xNN; and, unlike fdbcli, whose echo of
// a token holding `;` does not parse back, \;.
func echoToken(tok string) string {
	var sb strings.Builder
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '\\':
			sb.WriteString(`\\`)
		case c == '"':
			sb.WriteString(`\"`)
		case c == ';':
			sb.WriteString(`\;`)
		case c > ' ' && c < 127:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// showToken renders a token in an error message: printable ASCII as is,
// other bytes as \xNN.
func showToken(tok string) string {
	var sb strings.Builder
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c >= ' ' && c < 127 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// tupleNote is the tuple form of key as printed after fdbcli's text
// ("  # tuple (…)"), or "" when key is not a non-empty tuple. fdbcli's own
// text stays first on the line, byte for byte.
func tupleNote(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	t, err := tuple.Unpack(key)
	if err != nil || len(t) == 0 {
		return ""
	}
	return "  # tuple " + t.String()
}
