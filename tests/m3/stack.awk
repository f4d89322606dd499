# Worst-case stack depth from GCC's call graphs (-fcallgraph-info=su: one
# .ci file per object, VCG text). Usage:
#   awk -v root=m3_reset -v ext=32 [-v indirect="f g"] -f tests/m3/stack.awk *.ci
# Each function's frame is its "N bytes (static)" from the label; a callee
# with no frame in the graphs (newlib's memcpy/memset, libgcc) is charged
# ext bytes. The depth of a function is its frame plus its deepest callee.
# An indirect call (a driver hook) costs the deepest of the functions listed
# in indirect (the driver's); with none listed it is refused, as are
# recursion and dynamic frames (exit 1): then no static bound exists.
# Functions listed in harness (the test harness's own, e.g. main) are
# charged no frame: the figure is then the deepest chain below the entry
# points they call, plus the startup's frame.
# Prints "depth path..." for the deepest chain.
/^node:/ {
	t = $0; sub(/.*title: "/, "", t); sub(/".*/, "", t)
	l = $0
	if (l ~ /bytes \(static\)/) {
		sub(/ bytes \(static\).*/, "", l); sub(/.*\\n/, "", l)
		frame[t] = l + 0
	} else if (l ~ /bytes \(dynamic/) {
		dyn[t] = 1
	}
}
/^edge:/ {
	s = $0; sub(/.*sourcename: "/, "", s); sub(/".*/, "", s)
	d = $0; sub(/.*targetname: "/, "", d); sub(/".*/, "", d)
	if (!((s, d) in seen)) {
		seen[s, d] = 1
		ncall[s]++
		callee[s, ncall[s]] = d
	}
}
function charge(f,    i) {
	if (!hset) {
		hset = 1
		nh = split(harness, h)
		for (i = 1; i <= nh; i++)
			free[h[i]] = 1
	}
	return f in free ? 0 : f in frame ? frame[f] : ext + 0
}
function depth(f,    i, c, best, v, n, hook) {
	if (f in memo)
		return memo[f]
	if (f == "__indirect_call" && indirect != "") {
		n = split(indirect, hook)
		best = 0
		for (i = 1; i <= n; i++)
			if ((v = depth(hook[i])) > best) {
				best = v
				next_of[f] = hook[i]
			}
		return memo[f] = best
	}
	if (f in onpath || f in dyn || f == "__indirect_call") {
		print "stack.awk: no static bound: " f " (recursive, dynamic or indirect)" > "/dev/stderr"
		bad = 1
		return 0
	}
	onpath[f] = 1
	best = 0
	for (i = 1; i <= ncall[f]; i++) {
		c = callee[f, i]
		v = depth(c)
		if (v > best) {
			best = v
			next_of[f] = c
		}
	}
	delete onpath[f]
	memo[f] = charge(f) + best
	return memo[f]
}
END {
	total = depth(root)
	path = ""
	for (f = root; f != ""; f = next_of[f])
		path = path " " f "(" (f in free ? "harness " (f in frame ? frame[f] : "?") : \
		    f in frame ? frame[f] : f == "__indirect_call" ? 0 : "ext " ext) ")"
	print total path
	exit bad
}
