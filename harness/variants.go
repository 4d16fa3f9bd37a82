package harness

// Variants are programs, made from reference steps like the mutants,
// that prove the checks judge the contract and not the course's own code:
// correct programs that differ from the reference where the contract
// leaves a choice (their Check is "variant.NAME"), and defective ones
// that only such a program could have. Their tests are in
// cgroupjail_test.go; the VM backends prebuild them with the mutants.
var Variants = []Mutant{
	{"variant.renamed", 5, "names its cgroups as the seed article names its one",
		[]Edit{renamedCgroup}},
	{"variant.renamed_leaky", 5, "names its cgroups its own way and makes one before --cpus is known to be good, never removing it",
		[]Edit{renamedCgroup, {
			Old: `return 0, fmt.Errorf("--cpus %q is not a number of CPUs like 0.5", value)`,
			New: "_, _ = newCgroup() // made before the value is known to be good, and never removed\n\t\t" +
				`return 0, fmt.Errorf("--cpus %q is not a number of CPUs like 0.5", value)`,
		}}},
}

// renamedCgroup is step 05 with its cgroups named mycontainer<hex>: the
// contract asks for no name.
var renamedCgroup = Edit{
	Old:  `name := fmt.Sprintf("stepbox-%d-%08x", os.Getpid(), rand.Uint32())`,
	New:  `name := fmt.Sprintf("mycontainer%08x", rand.Uint32())`,
	File: "cgroup.go",
}
