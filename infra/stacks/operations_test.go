package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The documents whose commands operators copy.
var operatorDocs = []string{"README.md", "docs/operations.md", "infra/README.md"}

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var (
	makeTargetPattern  = regexp.MustCompile(`(?m)^([a-z][a-z-]*):`)
	suiteStacksPattern = regexp.MustCompile(`(?m)^SUITE_STACKS\s*:=\s*(.+)$`)
	appStackPattern    = regexp.MustCompile(`stacks\.New\w+Stack\(app, "(\w+)"`)
	contextKeyPattern  = regexp.MustCompile(`ctx\.(?:string|tag|bool|int|list)\("(\w+)"`)
	codePattern        = regexp.MustCompile("(?s)```.*?```|`[^`\n]+`")
	makeCommandPattern = regexp.MustCompile("\\bmake ([a-z][a-z-]*)([^\n|&;`]*)")
	stacksArgPattern   = regexp.MustCompile(`STACKS=("[^"]*"|\S+)`)
	contextArgPattern  = regexp.MustCompile(`-c ([A-Za-z]+)=`)
)

// docCommands returns every `make …` command in the code of the operator
// documents (fenced blocks and inline code), with the rest of its line.
func docCommands(t *testing.T) map[string][][]string {
	t.Helper()
	out := map[string][][]string{}
	for _, doc := range operatorDocs {
		for _, code := range codePattern.FindAllString(readRepoFile(t, doc), -1) {
			out[doc] = append(out[doc], makeCommandPattern.FindAllStringSubmatch(code, -1)...)
		}
	}
	return out
}

// TestDocsUseMakefileCommands checks that every make command the operator
// documents show is a Makefile target, that the stacks they name are the
// ones the Makefile accepts, and that those are the CDK app's stacks.
func TestDocsUseMakefileCommands(t *testing.T) {
	makefile := readRepoFile(t, "Makefile")
	targets := map[string]bool{}
	for _, m := range makeTargetPattern.FindAllStringSubmatch(makefile, -1) {
		targets[m[1]] = true
	}
	m := suiteStacksPattern.FindStringSubmatch(makefile)
	if m == nil {
		t.Fatal("Makefile: no SUITE_STACKS")
	}
	suiteStacks := strings.Fields(m[1])

	var appStacks []string
	for _, m := range appStackPattern.FindAllStringSubmatch(readRepoFile(t, "infra/main.go"), -1) {
		appStacks = append(appStacks, m[1])
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(appStacks)), slices.Sorted(slices.Values(suiteStacks))); diff != "" {
		t.Errorf("Makefile SUITE_STACKS against infra/main.go's stacks (-main.go +Makefile):\n%s", diff)
	}

	seen := map[string]bool{}
	for doc, commands := range docCommands(t) {
		for _, c := range commands {
			target, args := c[1], c[2]
			seen[target] = true
			if !targets[target] {
				t.Errorf("%s: `make %s%s`: the Makefile has no target %q", doc, target, args, target)
			}
			for _, s := range stacksArgPattern.FindAllStringSubmatch(args, -1) {
				for _, name := range strings.Fields(strings.Trim(s[1], `"`)) {
					if isPlaceholder(name) {
						continue
					}
					if !slices.Contains(suiteStacks, name) {
						t.Errorf("%s: `make %s%s`: STACKS names %q, which the Makefile refuses (known: %v)", doc, target, args, name, suiteStacks)
					}
				}
			}
			// A bare `make deploy-org` in prose names the target; a
			// command with arguments is one to run.
			if (target == "deploy-org" || target == "destroy-org") && strings.TrimSpace(args) != "" {
				for _, v := range []string{"ORG_ID=", "ORG_OUS=", "ORG_REGIONS="} {
					if !strings.Contains(args, v) {
						t.Errorf("%s: `make %s%s`: without %s, which the Makefile requires", doc, target, args, v)
					}
				}
			}
		}
	}
	// The operator's path is documented whole.
	for _, target := range []string{"deploy", "deploy-org", "destroy", "destroy-org"} {
		if !seen[target] {
			t.Errorf("no operator document shows `make %s`", target)
		}
	}
}

// TestDocsContextKeys checks that every -c key=value the operator documents
// show is a context key the CDK app reads.
func TestDocsContextKeys(t *testing.T) {
	keys := map[string]bool{}
	for _, m := range contextKeyPattern.FindAllStringSubmatch(readRepoFile(t, "infra/main.go"), -1) {
		keys[m[1]] = true
	}
	for _, doc := range operatorDocs {
		for _, code := range codePattern.FindAllString(readRepoFile(t, doc), -1) {
			for _, m := range contextArgPattern.FindAllStringSubmatch(code, -1) {
				// infra/README.md explains the syntax as `-c key=value`.
				if m[1] != "key" && !keys[m[1]] {
					t.Errorf("%s: %q: infra/main.go reads no context key %q", doc, code, m[1])
				}
			}
		}
	}
}

// isPlaceholder tells a documented placeholder (STACKS=…, <stack>) from a name.
func isPlaceholder(s string) bool {
	return strings.Contains(s, "…") || strings.HasPrefix(s, "<")
}

var (
	samCommandPattern  = regexp.MustCompile(`\bsam (deploy|delete)\b([^\n|&;` + "`" + `]*)`)
	samTemplatePattern = regexp.MustCompile(`(?:-t|--template-file|--template)[ =](\S+)`)
	samOverridePattern = regexp.MustCompile(`--parameter-overrides((?: +[A-Za-z0-9]+=\S+)+)`)
)

// TestDocsSAMCommands checks that every `sam deploy` the operator documents
// show names a template that exists (template.yaml when none is named), that
// its --parameter-overrides are that template's parameters, that every
// per-capability template has its command, and that `sam delete` is shown.
func TestDocsSAMCommands(t *testing.T) {
	deployed := map[string]bool{}
	seen := map[string]bool{}
	for _, doc := range operatorDocs {
		for _, code := range codePattern.FindAllString(readRepoFile(t, doc), -1) {
			// A command continued with a backslash is one line.
			code = strings.ReplaceAll(code, "\\\n", " ")
			for _, c := range samCommandPattern.FindAllStringSubmatch(code, -1) {
				verb, args := c[1], c[2]
				seen[verb] = true
				if verb != "deploy" {
					continue
				}
				file := "template.yaml"
				if m := samTemplatePattern.FindStringSubmatch(args); m != nil {
					file = m[1]
				}
				deployed[file] = true
				path := filepath.Join("..", "..", file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: `sam %s%s`: no template %s", doc, verb, args, file)
					continue
				}
				params, _ := readSAMTemplate(t, path)["Parameters"].(map[string]any)
				if m := samOverridePattern.FindStringSubmatch(args); m != nil {
					for _, kv := range strings.Fields(m[1]) {
						name, _, _ := strings.Cut(kv, "=")
						if _, ok := params[name]; !ok {
							t.Errorf("%s: `sam %s%s`: %s has no parameter %s", doc, verb, args, file, name)
						}
					}
				}
			}
		}
	}
	for _, file := range samCapabilityTemplates {
		if name := strings.TrimPrefix(file, "../../"); !deployed[name] {
			t.Errorf("no operator document shows `sam deploy --guided -t %s`", name)
		}
	}
	for _, verb := range []string{"deploy", "delete"} {
		if !seen[verb] {
			t.Errorf("no operator document shows `sam %s`", verb)
		}
	}
}
