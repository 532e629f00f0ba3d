// Command iam prints the least-privilege report: for every function's role
// (as infra/sam writes it), each IAM action its tests exercised through the
// IAM layer (shared/testkit/iam), with the statement that allowed it, and
// every statement and action that no test exercised, with the reason kept
// for it in infra/sam/iam-unexercised.json. An unexercised action without a
// reason fails the report: either a test exercises it, or the report
// carries its reason, or it goes.
//
// With -drop it also takes each exercised statement out in turn and runs a
// test that needed it, which must then fail with an access-denied error
// naming one of the statement's actions.
//
// `make iam` runs the tests with IAM_REPORT_DIR set, then this command.
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/policy"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func main() { os.Exit(run(os.Stdout)) }

// Reason explains actions no test exercises. Each field but Reason is an
// IAM-style pattern (* and ?): one entry may cover a statement every role
// has, such as the on-failure queue's.
type Reason struct {
	Template  string `json:"template"`
	Role      string `json:"role"`
	Statement string `json:"statement"` // "<source>#<index>"
	Action    string `json:"action"`    // the action as the statement writes it
	Reason    string `json:"reason"`
}

// reasonFor returns the first reason that covers k.
func reasonFor(reasons []Reason, k key) string {
	for _, r := range reasons {
		if policy.Like(r.Template, k.template) && policy.Like(r.Role, k.role) && policy.Like(r.Statement, k.statement) && policy.Like(r.Action, k.action) {
			return r.Reason
		}
	}
	return ""
}

// key names one action of one statement of one role.
type key struct{ template, role, statement, action string }

type use struct {
	count int
	tests map[string]bool // "<package> <test>"
}

func run(w io.Writer) int {
	dir := flag.String("dir", "test-output/iam", "the report directory the tests wrote (IAM_REPORT_DIR)")
	reasonsFile := flag.String("reasons", "infra/sam/iam-unexercised.json", "why each unexercised action stays")
	drop := flag.Bool("drop", false, "also drop each exercised statement in turn and show that a test then fails")
	flag.Parse()

	records, err := iam.ReadReport(*dir)
	if err != nil || len(records) == 0 {
		fmt.Fprintf(os.Stderr, "iam: no report in %s (%v): run `make iam`, which runs the tests with %s set\n", *dir, err, iam.ReportDirEnv)
		return 2
	}
	var reasons []Reason
	data, err := os.ReadFile(*reasonsFile)
	if err == nil {
		err = json.Unmarshal(data, &reasons)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "iam: reasons %s: %v\n", *reasonsFile, err)
		return 2
	}

	// Every statement of every role, and what the tests exercised.
	statements := map[[2]string][]iam.Statement{} // (template, role)
	uses := map[key]*use{}
	for _, rec := range records {
		role := [2]string{rec.Template, rec.Role}
		switch rec.Kind {
		case "principal":
			if len(statements[role]) == 0 {
				statements[role] = rec.Statements
			}
		case "decision":
			if rec.By == nil || rec.Decision == string(policy.ImplicitDeny) {
				continue
			}
			k := key{rec.Template, rec.Role, fmt.Sprintf("%s#%d", rec.By.Source, rec.By.Statement), rec.Action}
			u := uses[k]
			if u == nil {
				u = &use{tests: map[string]bool{}}
				uses[k] = u
			}
			u.count++
			u.tests[rec.Package+" "+rec.Test] = true
		}
	}

	roles := make([][2]string, 0, len(statements))
	for r := range statements {
		roles = append(roles, r)
	}
	slices.SortFunc(roles, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })

	unexplained, explained := 0, 0
	// dropTries is how many of the tests that exercised a statement are
	// run without it, in turn, until one fails naming its action: a test
	// may exercise a statement on a path it expects to fail anyway.
	const dropTries = 3
	type dropCase struct {
		statement string
		tests     []string // "<package> <test>"
		actions   []string
		role      [2]string
	}
	var drops []dropCase
	for _, role := range roles {
		fmt.Fprintf(w, "\n## %s %s\n\n", role[0], role[1])
		fmt.Fprintf(w, "| statement | action | exercised | by tests | or why it stays |\n|---|---|---|---|---|\n")
		for _, st := range statements[role] {
			id := fmt.Sprintf("%s#%d", st.Source, st.Index)
			name := id
			if st.Sid != "" {
				name += " (" + st.Sid + ")"
			}
			var exercisedActions []string
			needing := map[string]bool{}
			for _, pattern := range st.Actions {
				// The calls this action pattern of the statement allowed.
				n, tests := 0, map[string]bool{}
				for k, u := range uses {
					if k.template == role[0] && k.role == role[1] && k.statement == id && policy.ActionMatches(pattern, k.action) {
						n += u.count
						for t := range u.tests {
							tests[t] = true
						}
						exercisedActions = append(exercisedActions, k.action)
					}
				}
				if n > 0 {
					list := sortedKeys(tests)
					for _, t := range list {
						needing[t] = true
					}
					fmt.Fprintf(w, "| %s | %s | %d calls | %d |  |\n", name, pattern, n, len(list))
					continue
				}
				why := reasonFor(reasons, key{role[0], role[1], id, pattern})
				if why == "" {
					unexplained++
					why = "**UNEXPLAINED: exercise it in a test, give a reason in infra/sam/iam-unexercised.json, or remove it**"
				} else {
					explained++
				}
				fmt.Fprintf(w, "| %s | %s | no |  | %s |\n", name, pattern, why)
			}
			if len(needing) > 0 && st.Effect == "Allow" {
				drops = append(drops, dropCase{statement: id, tests: sortedKeys(needing), actions: exercisedActions, role: role})
			}
		}
	}
	fmt.Fprintf(w, "\n%d roles; %d actions exercised by tests; %d kept with a reason; %d unexplained\n", len(roles), len(uses), explained, unexplained)

	failedDrops := 0
	if *drop {
		fmt.Fprintf(w, "\n## Each exercised statement dropped in turn\n\n| role | statement | test | result |\n|---|---|---|---|\n")
		for _, d := range drops {
			var ok bool
			var detail, tried string
			for i, t := range d.tests {
				if i == dropTries {
					break
				}
				tried = t
				pkg, test, _ := strings.Cut(t, " ")
				if ok, detail = dropOne(d.statement, pkg, test, d.actions); ok {
					break
				}
			}
			if !ok {
				failedDrops++
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", d.role[1], d.statement, tried, detail)
		}
		fmt.Fprintf(w, "\n%d statements dropped, %d did not fail their test as they should\n", len(drops), failedDrops)
	}
	if unexplained > 0 || failedDrops > 0 {
		return 1
	}
	return 0
}

// dropOne runs test of pkg without statement and reports whether it
// failed with an access-denied error naming one of actions.
func dropOne(statement, pkg, test string, actions []string) (bool, string) {
	cmd := exec.Command("go", "test", "-count=1", "-run", "^"+test+"$", pkg) // #nosec G204 -- the repository's own tests
	if root, err := sample.Root(); err == nil {
		cmd.Dir = root
	}
	cmd.Env = append(os.Environ(), iam.DropEnv+"="+statement, iam.ReportDirEnv+"=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return false, "still passes: the statement is not needed by this test"
	}
	for _, a := range actions {
		if strings.Contains(string(out), "not authorized to perform: "+a) {
			return true, "fails, denied " + a
		}
	}
	return false, "fails, but not with an access-denied error naming " + strings.Join(actions, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
