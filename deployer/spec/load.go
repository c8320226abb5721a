package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// EnvVarPrefix is the prefix of environment variables that set variables:
// STRATA_VAR_zones sets var.zones.
const EnvVarPrefix = "STRATA_VAR_"

// Options are the inputs of a load besides the description itself.
type Options struct {
	// Vars are -var flags, "name=value", in command-line order; a later
	// flag for the same name wins.
	Vars []string
	// VarFiles are -var-file paths in command-line order.
	VarFiles []string
	// Env is the environment as os.Environ returns it; only STRATA_VAR_*
	// entries are read. Nil means no environment, which keeps tests
	// hermetic; the CLI passes os.Environ().
	Env []string
	// BaseDir is the directory file() and relative release paths are
	// resolved against. Load sets it to the description's directory when
	// empty.
	BaseDir string
}

// Sources are the parsed files (and -var values) by name; diagnostic
// writers need them to print source snippets.
type Sources map[string]*hcl.File

// Load reads, decodes and validates the description at path.
func Load(path string, opts Options) (*ClusterSpec, Sources, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, Sources{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read cluster description",
			Detail:   err.Error(),
		}}
	}
	if opts.BaseDir == "" {
		opts.BaseDir = filepath.Dir(path)
	}
	return LoadSource(path, src, opts)
}

// LoadSource decodes and validates a description given as bytes; filename
// names it in diagnostics and chooses the syntax (".json" means HCL's JSON
// form, anything else native HCL).
func LoadSource(filename string, src []byte, opts Options) (*ClusterSpec, Sources, hcl.Diagnostics) {
	l := &loader{parser: hclparse.NewParser(), opts: opts, extra: Sources{}}
	if l.opts.BaseDir == "" {
		l.opts.BaseDir = "."
	}
	spec, diags := l.load(filename, src)
	return spec, l.sources(), diags
}

// loader holds the state of one load: the parser keeps every file it read
// so diagnostics can quote them.
type loader struct {
	parser *hclparse.Parser
	opts   Options
	// extra holds pseudo-files for -var and environment values.
	extra Sources
}

func (l *loader) sources() Sources {
	out := Sources{}
	for name, f := range l.parser.Files() {
		out[name] = f
	}
	for name, f := range l.extra {
		out[name] = f
	}
	return out
}

func (l *loader) parse(filename string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if strings.HasSuffix(filename, ".json") {
		return l.parser.ParseJSON(src, filename)
	}
	return l.parser.ParseHCL(src, filename)
}

// rootSchema is the top level of a description. "dynamic" is listed so
// that the first pass accepts dynamic blocks; dynblock expands them in the
// second.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "cluster", LabelNames: []string{"name"}},
		{Type: "ssh"},
		{Type: "paths"},
		{Type: "defaults"},
		{Type: "release", LabelNames: []string{"version"}},
		{Type: "host", LabelNames: []string{"name"}},
		{Type: "dynamic", LabelNames: []string{"type"}},
	},
}

// expandedSchema is rootSchema without "dynamic", for the expanded body.
var expandedSchema = &hcl.BodySchema{Blocks: rootSchema.Blocks[:len(rootSchema.Blocks)-1]}

func (l *loader) load(filename string, src []byte) (*ClusterSpec, hcl.Diagnostics) {
	file, diags := l.parse(filename, src)
	if diags.HasErrors() {
		return nil, diags
	}
	content, more := file.Body.Content(rootSchema)
	diags = append(diags, more...)
	if more.HasErrors() {
		return nil, diags
	}
	blocks := content.Blocks.ByType()
	diags = append(diags, checkDynamicTypes(blocks["dynamic"])...)
	if diags.HasErrors() {
		return nil, diags
	}

	vars, more := l.variables(blocks["variable"])
	diags = append(diags, more...)
	if more.HasErrors() {
		return nil, diags
	}
	funcs := Functions(l.opts.BaseDir)
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": objectOrEmpty(vars)},
		Functions: funcs,
	}
	locals, more := evalLocals(blocks["locals"], ctx)
	diags = append(diags, more...)
	if more.HasErrors() {
		return nil, diags
	}
	ctx.Variables["local"] = objectOrEmpty(locals)

	expanded, more := dynblock.Expand(file.Body, ctx).Content(expandedSchema)
	diags = append(diags, more...)
	if more.HasErrors() {
		return nil, diags
	}
	spec, more := decodeRoot(expanded, file.Body.MissingItemRange(), ctx, l.opts.BaseDir)
	diags = append(diags, dropUnknownFollowUps(more)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return spec, diags
}

// dynamicTypes are the top-level blocks a dynamic block may generate: the
// repeatable ones. Variables and locals are read before expansion, and
// the singletons would only make duplicates.
var dynamicTypes = []string{"host", "release"}

func checkDynamicTypes(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if !slices.Contains(dynamicTypes, b.Labels[0]) {
			diags = append(diags, errorf(b.LabelRanges[0], "Unsupported dynamic block",
				"A top-level dynamic block can generate %s blocks, not %q.", quoteList(dynamicTypes), b.Labels[0]))
		}
	}
	return diags
}

// dropUnknownFollowUps removes the "value must be known" errors gohcl adds
// after an expression already failed (an unknown function, a function
// error): the evaluation error says what is wrong, the follow-up only
// repeats it less clearly.
func dropUnknownFollowUps(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) < 2 {
		return diags
	}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Summary == "Unsuitable value type" && strings.HasSuffix(d.Detail, "value must be known") {
			continue
		}
		out = append(out, d)
	}
	return out
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// errorf is shorthand for an error diagnostic at rng.
func errorf(rng hcl.Range, summary, detailFormat string, args ...any) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  &r,
	}
}

// warnf is shorthand for a warning diagnostic at rng.
func warnf(rng hcl.Range, summary, detailFormat string, args ...any) *hcl.Diagnostic {
	d := errorf(rng, summary, detailFormat, args...)
	d.Severity = hcl.DiagWarning
	return d
}
