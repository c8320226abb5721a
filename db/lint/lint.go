package lint

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Violation is one broken rule at one place in the source.
type Violation struct {
	// Pos is where the offending import, call, statement or type starts.
	// Pos.Filename is slash-separated and relative to the module root, so
	// reports read the same on every machine.
	Pos  token.Position
	Rule string // one of the rule names listed in the package documentation
	Msg  string // what is wrong and what to do instead
}

// String formats v as "file:line:col: rule: message", the form editors and
// CI logs recognise.
func (v Violation) String() string {
	return fmt.Sprintf("%s: %s: %s", v.Pos, v.Rule, v.Msg)
}

// Check walks the Go files of the module rooted at root, whose module path is
// module, and returns every violation of the import rules and of the
// role-code bans, sorted by file, line, column and rule.
//
// It skips directories named testdata or vendor, directories whose names
// start with "." or "_" (the go tool ignores them too) and nested modules
// (directories with their own go.mod). It reads only the trees the rules
// speak about: db, deployer and tui.
func Check(root, module string) ([]Violation, error) {
	files, err := goFiles(root)
	if err != nil {
		return nil, err
	}
	var all []Violation
	fset := token.NewFileSet()
	for _, rel := range files {
		found, err := checkFile(fset, root, module, rel)
		if err != nil {
			return nil, fmt.Errorf("checking module at %s: %w", root, err)
		}
		all = append(all, found...)
	}
	slices.SortFunc(all, compareViolations)
	return all, nil
}

// ModulePath returns the module path declared by root/go.mod.
func ModulePath(root string) (string, error) {
	name := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("reading module path: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "module" {
			continue
		}
		if len(fields) != 2 {
			return "", fmt.Errorf("%s:%d: module directive needs exactly one path", name, i+1)
		}
		mod := fields[1]
		if unq, err := strconv.Unquote(mod); err == nil {
			mod = unq
		}
		return mod, nil
	}
	return "", fmt.Errorf("%s: no module directive", name)
}

// ruledTrees are the top-level directories some rule applies to; the walk
// does not descend into any other.
var ruledTrees = []string{"db", "deployer", "tui"}

// goFiles lists the .go files under root that the rules apply to, as sorted
// slash-separated paths relative to root.
func goFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			skip, err := skipDir(p, rel, d.Name())
			if err != nil {
				return err
			}
			if skip {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if d.Type().IsRegular() && strings.HasSuffix(name, ".go") && !ignoredName(name) {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing Go files under %s: %w", root, err)
	}
	slices.Sort(files)
	return files, nil
}

// skipDir reports whether the walk leaves out the directory at p (rel to
// the root, named name).
func skipDir(p, rel, name string) (bool, error) {
	if ignoredName(name) || name == "testdata" || name == "vendor" {
		return true, nil
	}
	if !strings.Contains(rel, "/") && !slices.Contains(ruledTrees, rel) {
		return true, nil
	}
	_, err := os.Stat(filepath.Join(p, "go.mod"))
	switch {
	case err == nil:
		return true, nil // a nested module is checked on its own, if at all
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("looking for a nested module: %w", err)
	}
}

// ignoredName reports whether the go tool ignores a file or directory
// because of its name.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// checkFile parses root/rel and returns the violations in it, after the
// file's //lint:allow comments have had their say.
func checkFile(fset *token.FileSet, root, module, rel string) ([]Violation, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("reading Go file: %w", err)
	}
	dir := path.Dir(rel)
	role := isRoleCode(dir)
	mode := parser.ParseComments
	if !role {
		// Only the import rules apply outside role code, and they need
		// nothing past the import declarations.
		mode |= parser.ImportsOnly
	}
	// Positions name the file by its root-relative path.
	file, err := parser.ParseFile(fset, rel, src, mode)
	if err != nil {
		return nil, fmt.Errorf("parsing Go file: %w", err)
	}
	fc := &fileChecker{
		fset:    fset,
		module:  module,
		dir:     dir,
		role:    role,
		imports: map[string]string{},
	}
	fc.checkImports(file)
	if role {
		fc.checkRoleCode(file)
	}
	allows, bad := parseAllows(fset, file, src, allowScope(file, role))
	return append(applyAllows(fc.found, allows), bad...), nil
}

// allowScope is the end of the part of file whose //lint:allow comments
// count: all of it in role code, and up to the end of the imports elsewhere,
// because only the import rules are checked there.
func allowScope(file *ast.File, role bool) token.Pos {
	if role {
		return file.FileEnd
	}
	end := file.Name.End()
	for _, d := range file.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			end = gd.End()
		}
	}
	return end
}

func compareViolations(a, b Violation) int {
	return cmp.Or(
		strings.Compare(a.Pos.Filename, b.Pos.Filename),
		cmp.Compare(a.Pos.Line, b.Pos.Line),
		cmp.Compare(a.Pos.Column, b.Pos.Column),
		strings.Compare(a.Rule, b.Rule),
		strings.Compare(a.Msg, b.Msg),
	)
}

// lineIsBlankBefore reports whether only white space precedes offset on its
// line of src.
func lineIsBlankBefore(src []byte, offset int) bool {
	start := bytes.LastIndexByte(src[:offset], '\n') + 1
	return len(bytes.TrimSpace(src[start:offset])) == 0
}
