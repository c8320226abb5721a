package spec

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evalLocals evaluates every `locals` attribute in dependency order. A local
// may refer to variables, functions and other locals; a reference cycle is
// one diagnostic naming the whole cycle.
func evalLocals(blocks hcl.Blocks, ctx *hcl.EvalContext) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	attrs := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		more, moreDiags := b.Body.JustAttributes()
		diags = append(diags, moreDiags...)
		for _, attr := range attrsInOrder(more) {
			if prev, dup := attrs[attr.Name]; dup {
				diags = append(diags, errorf(attr.NameRange, "Duplicate local value",
					"A local value named %q was already defined at %s.", attr.Name, prev.Range))
				continue
			}
			attrs[attr.Name] = attr
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	order, cycle := localsOrder(attrs)
	if cycle != nil {
		first := attrs[cycle[0]]
		path := make([]string, len(cycle))
		for i, name := range cycle {
			path[i] = "local." + name
		}
		return nil, append(diags, errorf(first.NameRange, "Circular reference in locals",
			"The local values refer to each other in a cycle: %s.", strings.Join(path, " -> ")))
	}

	values := map[string]cty.Value{}
	for _, name := range order {
		ctx.Variables["local"] = objectOrEmpty(values)
		val, more := attrs[name].Expr.Value(ctx)
		diags = append(diags, more...)
		if more.HasErrors() {
			// Later locals that use this one would only repeat the error.
			return nil, diags
		}
		values[name] = val
	}
	return values, diags
}

// localDeps lists the locals an expression refers to, in name order.
func localDeps(expr hcl.Expression) []string {
	seen := map[string]bool{}
	var deps []string
	for _, tr := range expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		step, ok := tr[1].(hcl.TraverseAttr)
		if !ok || seen[step.Name] {
			continue
		}
		seen[step.Name] = true
		deps = append(deps, step.Name)
	}
	sort.Strings(deps)
	return deps
}

// localsOrder sorts the locals so each comes after those it uses. It
// returns the first cycle it meets instead, as a path ending where it
// started. References to undeclared locals are left for evaluation to
// report, with their range.
func localsOrder(attrs map[string]*hcl.Attribute) (order []string, cycle []string) {
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)

	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string) []string
	visit = func(name string) []string {
		switch state[name] {
		case done:
			return nil
		case visiting:
			for i, n := range stack {
				if n == name {
					return append(append([]string{}, stack[i:]...), name)
				}
			}
		}
		state[name] = visiting
		stack = append(stack, name)
		for _, dep := range localDeps(attrs[name].Expr) {
			if _, declared := attrs[dep]; !declared {
				continue
			}
			if c := visit(dep); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, name := range names {
		if c := visit(name); c != nil {
			return nil, c
		}
	}
	return order, nil
}

// attrsInOrder returns the attributes in source order, so diagnostics come
// out in the order a reader meets them.
func attrsInOrder(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}
