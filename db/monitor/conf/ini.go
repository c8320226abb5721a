package conf

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// entry is one key = value line.
type entry struct {
	key   string // as written
	value string
	line  int
}

// section is one [name] block. Keys are stored under their canonical form
// (see canonicalKey) so that dash and underscore spellings collide.
type section struct {
	name    string
	line    int
	entries map[string]entry
}

func (s *section) get(canon string) (entry, bool) {
	if s == nil {
		return entry{}, false
	}
	e, ok := s.entries[canon]
	return e, ok
}

// iniFile is the parsed file before any fdbmonitor semantics are applied.
type iniFile struct {
	path     string
	sections map[string]*section
	order    []string // section names in file order
}

// canonicalKey makes dashes and underscores equivalent. Case is kept:
// fdbmonitor's keys are case-sensitive.
func canonicalKey(k string) string { return strings.ReplaceAll(k, "_", "-") }

var (
	processSectionRE = regexp.MustCompile(`^server\.([A-Za-z0-9_-]+)$`)
	keyRE            = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Error is a problem in the configuration file, with its location.
type Error struct {
	Path string
	Line int // 0 when the problem is not tied to a line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

func errorf(path string, line int, format string, args ...any) *Error {
	return &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// parseINI reads the sections and keys. Comments are whole lines starting
// with '#' or ';'; values are taken verbatim after trimming spaces.
func parseINI(path string, data []byte) (*iniFile, error) {
	f := &iniFile{path: path, sections: map[string]*section{}}
	var cur *section
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			s, err := f.openSection(line, lineNo)
			if err != nil {
				return nil, err
			}
			cur = s
		default:
			if err := f.addEntry(cur, line, lineNo); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errorf(path, lineNo+1, "reading: %v", err)
	}
	return f, nil
}

func (f *iniFile) openSection(line string, lineNo int) (*section, error) {
	if !strings.HasSuffix(line, "]") {
		return nil, errorf(f.path, lineNo, "section header %q is missing its closing ']'", line)
	}
	name := strings.TrimSpace(line[1 : len(line)-1])
	switch {
	case name == "general" || name == "monitor" || name == "server":
	case processSectionRE.MatchString(name):
	default:
		return nil, errorf(f.path, lineNo,
			"unknown section [%s]: expected [general], [monitor], [server] or [server.<ID>] (ID of letters, digits, '-' or '_')", name)
	}
	if prev, ok := f.sections[name]; ok {
		return nil, errorf(f.path, lineNo, "section [%s] repeated (first at line %d)", name, prev.line)
	}
	s := &section{name: name, line: lineNo, entries: map[string]entry{}}
	f.sections[name] = s
	f.order = append(f.order, name)
	return s, nil
}

func (f *iniFile) addEntry(cur *section, line string, lineNo int) error {
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return errorf(f.path, lineNo, "expected 'key = value', a [section] header or a comment, got %q", line)
	}
	if cur == nil {
		return errorf(f.path, lineNo, "key %q appears before any [section]", strings.TrimSpace(key))
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if !keyRE.MatchString(key) {
		return errorf(f.path, lineNo, "invalid key %q in [%s]", key, cur.name)
	}
	canon := canonicalKey(key)
	if prev, ok := cur.entries[canon]; ok {
		return errorf(f.path, lineNo, "key %q repeated in [%s] (first at line %d as %q)", key, cur.name, prev.line, prev.key)
	}
	cur.entries[canon] = entry{key: key, value: value, line: lineNo}
	return nil
}
