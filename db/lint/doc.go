// Package lint enforces Strata's import rules and the determinism bans on
// database role code, as a Go test: `go test ./db/lint` (and so `make test`)
// fails, naming file:line:column, when a change breaks one.
//
// # Why
//
// Strata tests its database the way FoundationDB does: the real role code
// runs inside a deterministic simulator, and a run is decided by its seed
// alone, so a bug a seed finds is reproduced by that seed. That holds only
// while role code gets time, randomness, actors, network and disk from
// db/flow.Env, which the simulator implements. One stray time.Now, goroutine
// or channel makes a failing seed unreproducible, and nothing in the
// compiler stops it. This package does.
//
// The layering rules keep the dependency graph of DESIGN.md: the database
// does not depend on the tools that deploy or show it.
//
// # Import rules (all packages)
//
//   - import-db: db/... never imports deployer/..., playbooks/... or tui/....
//   - import-tui: tui/... imports from db only db/status and db/client, and
//     from deployer only deployer/event (each with its subpackages).
//   - import-deployer: deployer/... never imports db/server/....
//
// # Role-code bans
//
// Role code is every package under db/server, db/client and db/workloads,
// including its _test.go files: role-code tests run under the simulator too,
// so they obey the same rules. A test that needs the real world belongs
// elsewhere (test/e2e, or a package outside role code).
//
//   - time: time.Now, Since, Until, Sleep, After, AfterFunc, Tick, NewTimer
//     and NewTicker, and context.WithTimeout/WithDeadline (and their Cause
//     variants), which compute a deadline from the wall clock. time.Duration,
//     time.Time, time.Millisecond and the rest of package time stay usable.
//   - rand: importing math/rand or crypto/rand at all; in math/rand/v2, every
//     name but the types (Rand, Source, PCG, ChaCha8, Zipf) and NewZipf. Role
//     code holds and passes on the *rand.Rand that flow.Env hands out; it
//     never builds or seeds a generator itself, because that seed would not
//     come from the run's.
//   - os: importing os/exec, os/signal, os/user, syscall or golang.org/x/sys;
//     any name of package os except error values and predicates (ErrNotExist,
//     IsNotExist, ...), Mode* and O_* constants, path separators and the types
//     FileMode, FileInfo, DirEntry, PathError, LinkError and SyscallError.
//     So os.Open, os.ReadFile, os.Getenv, os.Getpid, os.Exit, os.Args and
//     os.Stdout are banned. Also filepath.Abs, EvalSymlinks, Glob, Walk and
//     WalkDir, and the file functions of io/ioutil.
//   - net: importing net or net/... (net/netip excepted: it only parses and
//     compares addresses), crypto/tls or golang.org/x/net/....
//   - go: go statements.
//   - sync: sync.Mutex, RWMutex, WaitGroup, Cond (and NewCond), and sync.Map,
//     whose Range order is unspecified. At most one actor of a process runs
//     at a time, so role code needs no locks. sync.Once and friends,
//     sync.Pool and sync/atomic stay allowed: they neither block an actor nor
//     change what correct code computes.
//   - chan: channel types (which covers make(chan T)), send statements,
//     receive expressions and select statements. Actors exchange values
//     through flow futures and streams.
//   - dot-import: a dot import, which would hide the names the bans look for.
//
// The bans are on names as written: without type information the checker
// resolves a selector such as rand.IntN to a package by the file's imports
// (renamed imports included) and sees that a local variable or parameter of
// the same name shadows the package. Map iteration order, unsafe and
// reflection are out of its scope.
//
// # Escape hatch
//
// A comment
//
//	//lint:allow <rule> <reason>
//
// silences one rule on its own line when it follows code, or on the next
// line when it stands alone. The reason is required. A malformed allow
// comment, one naming an unknown rule, and one that silences nothing are
// themselves violations of rule "allow", which cannot be silenced. Keep them
// rare: each one is a place where a seed may stop reproducing a run.
//
// # Scope of the walk
//
// Check reads only the db, deployer and tui trees, skips testdata, vendor,
// directories starting with "." or "_" and nested modules, and parses past
// the imports only in role code, so checking the repository takes
// milliseconds (BenchmarkCheckRepo).
package lint
