package lint

import (
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"strconv"
	"strings"
)

// Rule names, as they appear in reports and in //lint:allow comments.
const (
	RuleImportDB       = "import-db"       // db/... imports deployer, playbooks or tui
	RuleImportTUI      = "import-tui"      // tui imports a db or deployer package it must not read
	RuleImportDeployer = "import-deployer" // deployer imports db/server/...
	RuleTime           = "time"            // role code reads or waits on the wall clock
	RuleRand           = "rand"            // role code draws randomness not derived from the run seed
	RuleOS             = "os"              // role code touches files, processes or the environment
	RuleNet            = "net"             // role code does network I/O
	RuleGo             = "go"              // role code starts a goroutine
	RuleSync           = "sync"            // role code uses a blocking sync primitive
	RuleChan           = "chan"            // role code uses a channel
	RuleDotImport      = "dot-import"      // role code dot-imports a package
	RuleAllow          = "allow"           // a //lint:allow comment is malformed or unused
)

// allowableRules are the rules a //lint:allow comment may name; RuleAllow
// itself cannot be silenced.
var allowableRules = []string{
	RuleImportDB, RuleImportTUI, RuleImportDeployer, RuleTime, RuleRand, RuleOS,
	RuleNet, RuleGo, RuleSync, RuleChan, RuleDotImport,
}

// isRoleCode reports whether the package in dir (slash-separated, relative
// to the module root) is role code: code that runs unchanged in the
// deterministic simulator.
func isRoleCode(dir string) bool {
	return within(dir, "db/server") || within(dir, "db/client") || within(dir, "db/workloads")
}

// within reports whether p is prefix or lies under it.
func within(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// fileChecker collects the violations of one parsed file.
type fileChecker struct {
	fset    *token.FileSet
	module  string
	dir     string            // the file's package directory, relative to the module root
	role    bool              // whether the file is role code
	imports map[string]string // local package name -> import path, for role-code selectors
	found   []Violation
}

func (fc *fileChecker) report(pos token.Pos, rule, format string, args ...any) {
	fc.found = append(fc.found, Violation{
		Pos:  fc.fset.Position(pos),
		Rule: rule,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// checkImports applies the import rules to every import of the file and
// records the local names role-code selectors are resolved against.
func (fc *fileChecker) checkImports(file *ast.File) {
	for _, spec := range file.Imports {
		imp, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue // the parser accepted it, so this cannot happen
		}
		fc.checkLayer(spec, imp)
		if !fc.role {
			continue
		}
		fc.checkRoleImport(spec, imp)
		switch name := localName(spec, imp); name {
		case "_":
		case ".":
			fc.report(spec.Pos(), RuleDotImport,
				"dot import of %q hides which names come from it; import it by name", imp)
		default:
			fc.imports[name] = imp
		}
	}
}

// localName is the name a file refers to an imported package by. Without
// type information the default name is guessed from the path ("math/rand/v2"
// is rand), which is right for every package the bans name.
func localName(spec *ast.ImportSpec, imp string) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	return defaultName(imp)
}

// defaultName is the package name an import path declares, guessed from
// the path: its last element, or the one before a major-version suffix.
func defaultName(imp string) string {
	base := path.Base(imp)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(imp))
	}
	return base
}

// checkLayer applies the layering rules of DESIGN.md: the database does not
// depend on the tools that deploy or show it, the dashboard reads the
// database only through its client and status document, and the deployer
// never reaches into server role code.
func (fc *fileChecker) checkLayer(spec *ast.ImportSpec, imp string) {
	local, ok := strings.CutPrefix(imp, fc.module+"/")
	if !ok {
		return
	}
	switch {
	case within(fc.dir, "db"):
		for _, app := range []string{"deployer", "playbooks", "tui"} {
			if within(local, app) {
				fc.report(spec.Path.Pos(), RuleImportDB,
					"db/... must not import %s: the database does not depend on the deployer, playbooks or dashboard", imp)
			}
		}
	case within(fc.dir, "tui"):
		if within(local, "db") && !within(local, "db/status") && !within(local, "db/client") ||
			within(local, "deployer") && !within(local, "deployer/event") {
			fc.report(spec.Path.Pos(), RuleImportTUI,
				"tui must not import %s: it reads only db/status, db/client and deployer/event", imp)
		}
	case within(fc.dir, "deployer"):
		if within(local, "db/server") {
			fc.report(spec.Path.Pos(), RuleImportDeployer,
				"deployer must not import %s: it drives the database through db/client and db/status, never role code", imp)
		}
	}
}

// checkRoleImport reports imports role code may not have at all.
func (fc *fileChecker) checkRoleImport(spec *ast.ImportSpec, imp string) {
	pos := spec.Path.Pos()
	switch {
	case imp == "math/rand":
		fc.report(pos, RuleRand,
			"math/rand is not allowed in role code: randomness comes from flow.Env, as a *rand.Rand of math/rand/v2")
	case imp == "crypto/rand":
		fc.report(pos, RuleRand,
			"crypto/rand cannot be replayed from the run seed: randomness comes from flow.Env")
	case within(imp, "net") && imp != "net/netip", imp == "crypto/tls", within(imp, "golang.org/x/net"):
		fc.report(pos, RuleNet,
			"%s does network I/O outside the simulator: role code talks through flow.Env endpoints", imp)
	case within(imp, "os") && imp != "os", imp == "syscall", within(imp, "golang.org/x/sys"):
		fc.report(pos, RuleOS,
			"%s reaches the operating system: role code does I/O through flow.Env", imp)
	}
}

// checkRoleCode applies the bans on statements, expressions and types that
// would make a simulated run depend on something other than its seed.
func (fc *fileChecker) checkRoleCode(file *ast.File) {
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			fc.report(n.Go, RuleGo,
				"go statement starts a goroutine the simulator cannot schedule; start actors through flow.Env")
		case *ast.SendStmt:
			fc.report(n.Arrow, RuleChan, "channel send: %s", chanAdvice)
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				fc.report(n.OpPos, RuleChan, "channel receive: %s", chanAdvice)
			}
		case *ast.SelectStmt:
			fc.report(n.Select, RuleChan, "select statement: %s", chanAdvice)
		case *ast.ChanType:
			fc.report(n.Begin, RuleChan, "channel type: %s", chanAdvice)
		case *ast.SelectorExpr:
			fc.checkSelector(n)
		}
		return true
	})
}

const chanAdvice = "actors exchange values through flow futures and streams, not channels"

// checkSelector applies the bans on names of standard packages, such as
// time.Now. A selector refers to a package only when its left side is an
// identifier the parser left unresolved (not a local variable, parameter or
// file-level declaration) that names one of the file's imports. This uses
// the parser's object resolution, deprecated in favour of go/types, because
// type-checking would need every dependency of the package compiled first,
// and the lint must run in milliseconds on a bare checkout.
func (fc *fileChecker) checkSelector(sel *ast.SelectorExpr) {
	id, ok := sel.X.(*ast.Ident)
	if !ok || id.Obj != nil {
		return
	}
	imp, ok := fc.imports[id.Name]
	if !ok {
		return
	}
	name := sel.Sel.Name
	ref := defaultName(imp) + "." + name // as documented, whatever the file calls the package
	switch imp {
	case "time":
		if bannedTime[name] {
			fc.report(sel.Pos(), RuleTime,
				"%s reads or waits on the wall clock: role code takes time and timers from flow.Env", ref)
		}
	case "context":
		if bannedContext[name] {
			fc.report(sel.Pos(), RuleTime,
				"%s sets a wall-clock deadline: role code takes timeouts from flow.Env", ref)
		}
	case "math/rand/v2":
		if !allowedRandV2[name] {
			fc.report(sel.Pos(), RuleRand,
				"%s draws from or builds a generator the run's seed does not control: role code takes its *rand.Rand from flow.Env", ref)
		}
	case "os":
		if !allowedOS(name) {
			fc.report(sel.Pos(), RuleOS,
				"%s touches files, processes or the environment: role code does I/O through flow.Env", ref)
		}
	case "path/filepath", "io/ioutil":
		if bannedFileIO[name] {
			fc.report(sel.Pos(), RuleOS,
				"%s reads the file system: role code does I/O through flow.Env", ref)
		}
	case "sync":
		if bannedSync[name] {
			fc.report(sel.Pos(), RuleSync,
				"%s is for goroutines sharing memory: one actor of a process runs at a time, so role code needs no locks", ref)
		}
	}
}

// bannedTime are the time functions that read the clock or wait on it.
// Durations, instants, months and formatting stay usable.
var bannedTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true,
}

// bannedContext are the context constructors that compute a deadline from
// the wall clock.
var bannedContext = map[string]bool{
	"WithTimeout": true, "WithTimeoutCause": true, "WithDeadline": true, "WithDeadlineCause": true,
}

// allowedRandV2 are the names of math/rand/v2 role code may use: the types,
// so that it can hold and pass on the generator flow.Env hands out, and
// NewZipf, which draws only from the *rand.Rand it is given. Every other
// function either uses the unseeded global generator or builds a generator
// whose seed would not come from the run.
var allowedRandV2 = map[string]bool{
	"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true, "NewZipf": true,
}

// allowedOS reports whether role code may use os.name: error values and
// predicates, file-mode and open-flag constants, path separators and the
// types that describe files. Functions that act on files, processes or the
// environment, and the process's standard streams and arguments, are banned.
func allowedOS(name string) bool {
	for _, prefix := range []string{"Err", "Is", "Mode", "O_"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	switch name {
	case "FileMode", "FileInfo", "DirEntry", "PathError", "LinkError", "SyscallError",
		"PathSeparator", "PathListSeparator", "DevNull":
		return true
	}
	return false
}

// bannedFileIO are the functions of path/filepath and io/ioutil that touch
// the file system or the working directory.
var bannedFileIO = map[string]bool{
	"Abs": true, "EvalSymlinks": true, "Glob": true, "Walk": true, "WalkDir": true,
	"ReadFile": true, "WriteFile": true, "ReadDir": true, "TempFile": true, "TempDir": true,
}

// bannedSync are the blocking primitives of package sync, and sync.Map,
// whose Range order is unspecified. sync.Once and friends, sync.Pool and
// sync/atomic stay allowed: they neither block an actor nor change what
// correct code computes.
var bannedSync = map[string]bool{
	"Mutex": true, "RWMutex": true, "WaitGroup": true, "Cond": true, "NewCond": true, "Map": true,
}
