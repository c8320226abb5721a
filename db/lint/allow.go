package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// allowDirective starts a comment that silences one rule on one line.
const allowDirective = "//lint:allow"

// allow is one well-formed //lint:allow comment.
type allow struct {
	pos  token.Position // where the comment is
	line int            // the line it applies to
	rule string
	used bool
}

// parseAllows returns the well-formed //lint:allow comments of file that
// start before end, and a violation for each malformed one. A comment alone
// on its line applies to the next line; a comment after code applies to its
// own line.
func parseAllows(fset *token.FileSet, file *ast.File, src []byte, end token.Pos) ([]*allow, []Violation) {
	var allows []*allow
	var bad []Violation
	for _, group := range file.Comments {
		for _, c := range group.List {
			if c.Pos() >= end {
				continue
			}
			rest, ok := strings.CutPrefix(c.Text, allowDirective)
			if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
				continue
			}
			pos := fset.Position(c.Pos())
			rule, err := parseAllowText(rest)
			if err != nil {
				bad = append(bad, Violation{Pos: pos, Rule: RuleAllow, Msg: err.Error()})
				continue
			}
			a := &allow{pos: pos, line: pos.Line, rule: rule}
			if lineIsBlankBefore(src, pos.Offset) {
				a.line++
			}
			allows = append(allows, a)
		}
	}
	return allows, bad
}

// parseAllowText returns the rule named by the text after the directive.
// The reason that must follow it is for the people reading the code.
func parseAllowText(rest string) (string, error) {
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", fmt.Errorf("%s needs a rule name and a reason", allowDirective)
	}
	rule := fields[0]
	if !slices.Contains(allowableRules, rule) {
		return "", fmt.Errorf("%s names unknown rule %q; known rules: %s",
			allowDirective, rule, strings.Join(allowableRules, ", "))
	}
	if len(fields) == 1 {
		return "", fmt.Errorf("%s %s needs a reason after the rule name", allowDirective, rule)
	}
	return rule, nil
}

// applyAllows drops the violations an allow comment covers and adds one
// violation for each allow comment that covers nothing, so stale escape
// hatches do not pile up.
func applyAllows(found []Violation, allows []*allow) []Violation {
	kept := found[:0]
	for _, v := range found {
		if a := coveringAllow(allows, v); a != nil {
			a.used = true
			continue
		}
		kept = append(kept, v)
	}
	for _, a := range allows {
		if !a.used {
			kept = append(kept, Violation{
				Pos:  a.pos,
				Rule: RuleAllow,
				Msg:  fmt.Sprintf("%s %s silences nothing on line %d; remove it", allowDirective, a.rule, a.line),
			})
		}
	}
	return kept
}

func coveringAllow(allows []*allow, v Violation) *allow {
	for _, a := range allows {
		if a.rule == v.Rule && a.line == v.Pos.Line {
			return a
		}
	}
	return nil
}
