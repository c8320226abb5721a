package cli

import "errors"

// Parse errors, as fdbcli reports them.
var (
	ErrMalformedEscape   = errors.New("malformed escape sequence")
	ErrUnterminatedQuote = errors.New("unterminated quote")
)

// Line is one parsed input line.
type Line struct {
	// Commands are the commands that parsed completely, in order; a
	// command is its tokens, and may be empty (as between two `;`).
	Commands [][]string
	// Err is ErrMalformedEscape or ErrUnterminatedQuote when the line
	// did not parse to its end; Broken then holds the tokens of the
	// command that failed, which must not run.
	Err    error
	Broken []string
}

// Parse splits line into commands and tokens with fdbcli's rules: `;`
// ends a command and space, tab, CR and LF end a token, except inside
// double quotes; a double quote toggles quoting and is dropped, and makes a
// token even if it stays empty (""); a backslash escapes `"`, `\`, ` ` or
// `;`, or gives one byte as \xNN (two hex digits) or \uNNNN (four hex
// digits, at most 00FF), inside quotes too. Tokens are byte strings.
func Parse(line string) Line {
	var (
		out     Line
		cmd     []string
		tok     []byte
		started bool // tok is a token, even if empty
		quoted  bool
	)
	endToken := func() {
		if started {
			cmd = append(cmd, string(tok))
		}
		tok, started = nil, false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			quoted, started = !quoted, true
		case c == '\\':
			b, n, ok := unescape(line[i+1:])
			if !ok {
				out.Err, out.Broken = ErrMalformedEscape, cmd
				return out
			}
			tok, started = append(tok, b), true
			i += n
		case quoted:
			tok, started = append(tok, c), true
		case c == ';':
			endToken()
			out.Commands = append(out.Commands, cmd)
			cmd = nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			endToken()
		default:
			tok, started = append(tok, c), true
		}
	}
	endToken()
	if quoted {
		out.Err, out.Broken = ErrUnterminatedQuote, cmd
		return out
	}
	out.Commands = append(out.Commands, cmd)
	return out
}

// unescape decodes the escape sequence whose text after the backslash
// starts s: the byte and how many bytes of s it used.
func unescape(s string) (byte, int, bool) {
	if s == "" {
		return 0, 0, false
	}
	switch s[0] {
	case '"', '\\', ' ', ';':
		return s[0], 1, true
	case 'x':
		v, ok := hexValue(s[1:], 2)
		return byte(v), 3, ok
	case 'u':
		v, ok := hexValue(s[1:], 4)
		return byte(v), 5, ok && v <= 0xff
	}
	return 0, 0, false
}

// hexValue reads exactly digits hex digits from the start of s.
func hexValue(s string, digits int) (int, bool) {
	if len(s) < digits {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[:digits]) {
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'f':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int(c-'A') + 10
		default:
			return 0, false
		}
		v = v<<4 | d
	}
	return v, true
}
