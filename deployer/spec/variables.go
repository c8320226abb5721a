package spec

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// rawVariable is a `variable "name"` block as written.
type rawVariable struct {
	Type        *hcl.Attribute  `hcl:"type,optional"`
	Default     *hcl.Attribute  `hcl:"default,optional"`
	Description *string         `hcl:"description,optional"`
	Validations []rawValidation `hcl:"validation,block"`
}

// rawValidation is a `validation` block: condition must hold for the value,
// else error_message is shown.
type rawValidation struct {
	Condition    hcl.Expression `hcl:"condition"`
	ErrorMessage hcl.Expression `hcl:"error_message"`
}

// variable is a declared variable during resolution.
type variable struct {
	name     string
	decl     hcl.Range
	typ      cty.Type
	defaults *typeexpr.Defaults
	raw      rawVariable
	value    cty.Value
	// source is where value came from; nil for a -var or environment value
	// without a pseudo-file.
	source *hcl.Range
	set    bool
}

// variables declares the variables and resolves their values in rising
// precedence: default, -var-file, STRATA_VAR_*, -var.
func (l *loader) variables(blocks hcl.Blocks) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	declared := map[string]*variable{}
	var order []string
	for _, b := range blocks {
		v, more := declareVariable(b)
		diags = append(diags, more...)
		if v == nil {
			continue
		}
		if prev, dup := declared[v.name]; dup {
			diags = append(diags, errorf(b.LabelRanges[0], "Duplicate variable declaration",
				"A variable named %q was already declared at %s.", v.name, prev.decl))
			continue
		}
		declared[v.name] = v
		order = append(order, v.name)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	for _, path := range l.opts.VarFiles {
		diags = append(diags, l.varFile(path, declared)...)
	}
	diags = append(diags, l.envVars(declared)...)
	diags = append(diags, l.cliVars(declared)...)
	if diags.HasErrors() {
		return nil, diags
	}

	values := map[string]cty.Value{}
	for _, name := range order {
		v := declared[name]
		if !v.set {
			diags = append(diags, errorf(v.decl, "No value for required variable",
				"The variable %q has no default; set it with -var '%s=...', a -var-file, or %s%s.",
				name, name, EnvVarPrefix, name))
			continue
		}
		values[name] = v.value
	}
	if diags.HasErrors() {
		return nil, diags
	}
	for _, name := range order {
		diags = append(diags, checkValidations(declared[name], values, l.opts.BaseDir)...)
	}
	return values, diags
}

func declareVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	name := b.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		return nil, hcl.Diagnostics{errorf(b.LabelRanges[0], "Invalid variable name",
			"%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter.", name)}
	}
	v := &variable{name: name, decl: b.DefRange, typ: cty.DynamicPseudoType}
	diags := gohcl.DecodeBody(b.Body, nil, &v.raw)
	if diags.HasErrors() {
		return nil, diags
	}
	if v.raw.Type != nil {
		ty, defaults, more := typeexpr.TypeConstraintWithDefaults(v.raw.Type.Expr)
		diags = append(diags, more...)
		if more.HasErrors() {
			return nil, diags
		}
		v.typ, v.defaults = ty, defaults
	}
	if v.raw.Default != nil {
		val, more := v.raw.Default.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			return nil, diags
		}
		rng := v.raw.Default.Expr.Range()
		if d := v.assign(val, &rng); d != nil {
			diags = append(diags, d)
			return nil, diags
		}
	}
	return v, diags
}

// assign converts val to the variable's type and records it with its
// source range.
func (v *variable) assign(val cty.Value, source *hcl.Range) *hcl.Diagnostic {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.typ)
	if err != nil {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("The value for var.%s does not fit its type %s: %s.",
				v.name, typeexpr.TypeString(v.typ), err),
			Subject: source,
		}
		if source == nil {
			d.Subject = &v.decl
		}
		return d
	}
	v.value, v.source, v.set = conv, source, true
	return nil
}

func (l *loader) varFile(path string, declared map[string]*variable) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file",
			Detail: fmt.Sprintf("-var-file %s: %s", path, err)}}
	}
	file, diags := l.parse(path, src)
	if diags.HasErrors() {
		return diags
	}
	attrs, more := file.Body.JustAttributes()
	diags = append(diags, more...)
	for _, attr := range attrsInOrder(attrs) {
		v, ok := declared[attr.Name]
		if !ok {
			diags = append(diags, errorf(attr.NameRange, "Value for undeclared variable",
				"The file sets %q, but the description declares no variable of that name.", attr.Name))
			continue
		}
		val, more := attr.Expr.Value(nil)
		diags = append(diags, more...)
		if more.HasErrors() {
			continue
		}
		rng := attr.Expr.Range()
		if d := v.assign(val, &rng); d != nil {
			diags = append(diags, d)
		}
	}
	return diags
}

func (l *loader) envVars(declared map[string]*variable) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, kv := range l.opts.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvVarPrefix) {
			continue
		}
		name = strings.TrimPrefix(name, EnvVarPrefix)
		v, ok := declared[name]
		if !ok {
			// The environment is shared with other tools and
			// descriptions; an unrelated STRATA_VAR_ is not an error.
			continue
		}
		diags = append(diags, l.assignRaw(v, value, "environment variable "+EnvVarPrefix+name)...)
	}
	return diags
}

func (l *loader) cliVars(declared map[string]*variable) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, kv := range l.opts.Vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("-var %q: expected name=value.", kv)})
			continue
		}
		v, ok := declared[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("-var sets %q, but the description declares no variable of that name.", name)})
			continue
		}
		diags = append(diags, l.assignRaw(v, value, "-var "+name)...)
	}
	return diags
}

// assignRaw sets a variable from a command-line or environment string. As
// in Terraform, a string-typed (or untyped) variable takes the text as is;
// any other type parses it as an HCL expression, so -var 'zones=["a","b"]'
// works.
func (l *loader) assignRaw(v *variable, text, origin string) hcl.Diagnostics {
	pseudo := fmt.Sprintf("<value for var.%s from %s>", v.name, origin)
	l.extra[pseudo] = &hcl.File{Bytes: []byte(text)}
	if v.typ == cty.DynamicPseudoType || v.typ.IsPrimitiveType() {
		rng := hcl.Range{Filename: pseudo, Start: hcl.InitialPos,
			End: hcl.Pos{Line: 1, Column: len(text) + 1, Byte: len(text)}}
		if d := v.assign(cty.StringVal(text), &rng); d != nil {
			return hcl.Diagnostics{d}
		}
		return nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(text), pseudo, hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	val, more := expr.Value(nil)
	diags = append(diags, more...)
	if more.HasErrors() {
		return diags
	}
	rng := expr.Range()
	if d := v.assign(val, &rng); d != nil {
		diags = append(diags, d)
	}
	return diags
}

// checkValidations runs the variable's validation blocks. Conditions may
// refer to any variable (as Terraform allows since 1.9) and use functions.
func checkValidations(v *variable, values map[string]cty.Value, baseDir string) hcl.Diagnostics {
	if len(v.raw.Validations) == 0 {
		return nil
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(values)},
		Functions: Functions(baseDir),
	}
	var diags hcl.Diagnostics
	for _, rule := range v.raw.Validations {
		ok, more := evalCondition(rule.Condition, ctx)
		diags = append(diags, more...)
		if more.HasErrors() || ok {
			continue
		}
		msg, more := rule.ErrorMessage.Value(ctx)
		diags = append(diags, more...)
		text := "The value is not allowed."
		if !more.HasErrors() && msg.Type() == cty.String && msg.IsKnown() && !msg.IsNull() {
			text = msg.AsString()
		}
		subject := v.source
		if subject == nil {
			subject = &v.decl
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail: fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s.",
				text, rule.Condition.Range()),
			Subject: subject,
		})
	}
	return diags
}

func evalCondition(expr hcl.Expression, ctx *hcl.EvalContext) (bool, hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return false, diags
	}
	val, err := convert.Convert(val, cty.Bool)
	if err != nil || val.IsNull() || !val.IsKnown() {
		rng := expr.Range()
		return false, append(diags, errorf(rng, "Invalid validation condition",
			"The condition must be true or false."))
	}
	return val.True(), diags
}
