package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// nftState lists the calling thread's nftables ruleset, one line a
// table, a chain and a rule, each rule with its expressions (counters
// without their values, which change as packets pass). A rule that
// translates destinations (dnat, as published ports do) is marked
// "dnat": one container's, never kept after it.
func nftState() []string {
	nft, err := nftables.New()
	if err != nil {
		return []string{"nft unreadable: " + err.Error()}
	}
	tables, err := nft.ListTables()
	if err != nil {
		return []string{"nft tables unreadable: " + err.Error()}
	}
	chains, _ := nft.ListChains()
	var lines []string
	for _, t := range tables {
		lines = append(lines, fmt.Sprintf("nft table %s", tableName(t)))
	}
	for _, c := range chains {
		lines = append(lines, fmt.Sprintf("nft chain %s %s", tableName(c.Table), c.Name))
		rules, _ := nft.GetRules(c.Table, c)
		for _, r := range rules {
			lines = append(lines, ruleLine(c, r))
		}
	}
	return lines
}

// tableName is "family/name", one word: "ip/stepbox".
func tableName(t *nftables.Table) string {
	return fmt.Sprintf("%s/%s", familyName(t.Family), t.Name)
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyBridge:
		return "bridge"
	}
	return fmt.Sprintf("family%d", f)
}

// ruleLine is "nft rule ip/stepbox prerouting [dnat] EXPR; EXPR; ...".
func ruleLine(c *nftables.Chain, r *nftables.Rule) string {
	kind, exprs := "rule", make([]string, 0, len(r.Exprs))
	for _, e := range r.Exprs {
		if n, ok := e.(*expr.NAT); ok && n.Type == expr.NATTypeDestNAT {
			kind = "dnat"
		}
		if _, ok := e.(*expr.Counter); ok {
			exprs = append(exprs, "counter")
			continue
		}
		exprs = append(exprs, strings.TrimPrefix(fmt.Sprintf("%T%+v", e, e), "*expr."))
	}
	return fmt.Sprintf("nft %s %s %s %s", kind, tableName(c.Table), c.Name, strings.Join(exprs, "; "))
}

// withoutKeptTables drops from a listing the nftables tables that were
// not there before, their chains and their rules, but for the dnat
// rules: a runtime may keep a table of NAT rules with its bridge, as
// docker keeps its own, but a rule that sends a published port to one
// container goes with that container.
func withoutKeptTables(before, lines []string) []string {
	had := map[string]bool{}
	for _, line := range before {
		if name, ok := strings.CutPrefix(line, "nft table "); ok {
			had[name] = true
		}
	}
	return slices.DeleteFunc(slices.Clone(lines), func(line string) bool {
		f := strings.Fields(line)
		return len(f) >= 3 && f[0] == "nft" && f[1] != "dnat" && !had[f[2]]
	})
}

// DNATRules are the dnat rules of a listing: published ports.
func DNATRules(lines []string) []string {
	var out []string
	for _, line := range lines {
		if strings.HasPrefix(line, "nft dnat ") {
			out = append(out, line)
		}
	}
	return out
}
