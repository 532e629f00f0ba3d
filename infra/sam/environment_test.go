// Package sam holds the tests of the SAM templates beside them that need
// no CDK: here, that each function's template sets exactly the variables
// its configuration reads.
package sam

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

const module = "github.com/ebs-ops/lambda-suite/"

// Variables a template may set that no config reads: the SDK reads them
// (coldstart.AWS loads the SDK configuration the standard way).
var sdkVariables = []string{"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"}

// Variables a config may read that no template sets: Lambda sets them.
var runtimeVariables = []string{"AWS_REGION"}

// optional are the variables a function reads and its template leaves
// unset on purpose, so the function runs on the default its config gives;
// each says why and where the operator is told.
var optional = map[string]map[string]string{
	"pipeline-health-gate": {
		// docs/pipeline-health-gate.md: unset, the margin scales with the
		// timeout (deadline.Margin), which a fixed value would not.
		"DEADLINE_MARGIN": "the scaled margin",
	},
	"pipeline-stage-retry": {
		// docs/pipeline-health-gate.md: unset, the check is the function's
		// own Region, which the template cannot know better.
		"DEFAULT_CHECK": "the function's Region",
	},
	"root-volume-cleanup": {
		// README: 5 deletes a second, the rate at which EC2 refills its
		// mutating-call bucket; a template parameter would invite raising it.
		"DELETE_RATE": "5 a second",
	},
}

// TestEnvironmentMatchesConfig: a variable a function reads that its SAM
// template does not set runs on a default nobody chose; one the template
// sets that the function does not read is a setting that does nothing. So
// the names each functions/<name> reads (through coldstart.Config, found in
// its source) must equal the Environment.Variables keys of its
// AWS::Serverless::Function in infra/sam, but for the SDK's and Lambda's
// own variables and the reasoned optional ones above.
func TestEnvironmentMatchesConfig(t *testing.T) {
	root, err := sample.Root()
	if err != nil {
		t.Fatal(err)
	}
	set := templateEnvironments(t, filepath.Join(root, "infra", "sam"))
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			env, ok := set[name]
			if !ok {
				t.Fatalf("no AWS::Serverless::Function in infra/sam has CodeUri ../../bin/%s/", name)
			}
			read := configNames(t, root, name)
			if len(read) == 0 {
				t.Fatalf("found no variable that functions/%s reads: is its config still loaded through coldstart.Config?", name)
			}
			var want, got []string
			for _, v := range read {
				if _, ok := optional[name][v]; !ok && !slices.Contains(runtimeVariables, v) {
					want = append(want, v)
				}
			}
			for _, v := range env {
				if !slices.Contains(sdkVariables, v) {
					got = append(got, v)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the Environment of %s's SAM function (+) differs from the variables its config reads (-):\n%s", name, diff)
			}
			for v := range optional[name] {
				if !slices.Contains(read, v) {
					t.Errorf("optional lists %s for %s, which its config does not read", v, name)
				}
			}
		})
	}
}

// templateEnvironments returns the sorted Environment.Variables keys of
// every AWS::Serverless::Function in dir's templates, by the function
// directory its CodeUri names.
func templateEnvironments(t *testing.T, dir string) map[string][]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no templates in %s: %v", dir, err)
	}
	out := map[string][]string{}
	for _, path := range paths {
		tmpl, err := cfn.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		globals, _ := tmpl.Section("Globals")["Function"].(map[string]any)
		for id, raw := range tmpl.Section("Resources") {
			r, _ := raw.(map[string]any)
			if r["Type"] != "AWS::Serverless::Function" {
				continue
			}
			props, _ := r["Properties"].(map[string]any)
			uri, _ := props["CodeUri"].(string)
			name := filepath.Base(strings.TrimSuffix(uri, "/"))
			if name == "" || name == "." {
				t.Fatalf("%s: %s has no CodeUri naming a function", filepath.Base(path), id)
			}
			if _, dup := out[name]; dup {
				t.Fatalf("%s: two SAM functions have CodeUri %s", filepath.Base(path), uri)
			}
			env := append(variables(globals), variables(props)...)
			slices.Sort(env)
			out[name] = slices.Compact(env)
		}
	}
	return out
}

// variables returns the names under props' Environment.Variables (props
// is a function's Properties or the template's Globals.Function).
func variables(props map[string]any) []string {
	env, _ := props["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	var out []string
	for k := range vars {
		out = append(out, k)
	}
	return out
}

// envName is the shape of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// configNames returns the sorted variable names functions/<name> reads.
// It starts at the loader its main passes to coldstart.Config (a local
// loadConfig or a shared package's loader) and follows every call that is
// handed a *settings.Reader into the module's packages: the name is the
// first argument of a Reader method (r.String("NAME", …), r.Fail) and the
// argument after the Reader of any other call (settings.Parse(r, "NAME", …)).
func configNames(t *testing.T, root, name string) []string {
	t.Helper()
	s := &scan{root: root, fset: token.NewFileSet(), files: map[string][]*ast.File{}, seen: map[*ast.FuncDecl]bool{},
		names: map[string]bool{}, dirOf: map[*ast.FuncDecl]string{}, fileOf: map[*ast.FuncDecl]*ast.File{}}
	fnDir := filepath.Join("functions", name)
	main, file := s.find(t, fnDir, "main")
	if main == nil {
		t.Fatalf("functions/%s has no func main", name)
	}
	var loader *ast.FuncDecl
	ast.Inspect(main, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isSelector(call.Fun, "coldstart", "Config") || len(call.Args) != 2 {
			return true
		}
		loader = s.resolve(t, fnDir, file, call.Args[1])
		return false
	})
	if loader == nil {
		t.Fatalf("functions/%s: main does not pass a loader of this module to coldstart.Config", name)
	}
	s.walk(t, loader)
	out := make([]string, 0, len(s.names))
	for n := range s.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// scan is one function's search for the names its config reads.
type scan struct {
	root  string
	fset  *token.FileSet
	files map[string][]*ast.File // a package's non-test files, by directory relative to root
	seen  map[*ast.FuncDecl]bool
	names map[string]bool
	// where each declaration was found, to resolve the calls in it
	dirOf  map[*ast.FuncDecl]string
	fileOf map[*ast.FuncDecl]*ast.File
}

// find returns the top-level function fn of the package in dir (relative to
// the module's root), and its file.
func (s *scan) find(t *testing.T, dir, fn string) (*ast.FuncDecl, *ast.File) {
	t.Helper()
	files, ok := s.files[dir]
	if !ok {
		paths, err := filepath.Glob(filepath.Join(s.root, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(s.fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		s.files[dir] = files
	}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == fn {
				s.dirOf[fd], s.fileOf[fd] = dir, f
				return fd, f
			}
		}
	}
	return nil, nil
}

// resolve finds the declaration of the function expression e, used in
// file of the package in dir: a local name, or pkg.Name of an import in
// this module. Anything else (the standard library, the SDK) is nil.
func (s *scan) resolve(t *testing.T, dir string, file *ast.File, e ast.Expr) *ast.FuncDecl {
	t.Helper()
	switch x := e.(type) {
	case *ast.IndexExpr: // an instantiated generic: required[T](…)
		return s.resolve(t, dir, file, x.X)
	case *ast.IndexListExpr:
		return s.resolve(t, dir, file, x.X)
	case *ast.Ident:
		fd, _ := s.find(t, dir, x.Name)
		return fd
	case *ast.SelectorExpr:
		pkg, ok := x.X.(*ast.Ident)
		if !ok {
			return nil
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			local := filepath.Base(path)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == pkg.Name && strings.HasPrefix(path, module) {
				fd, _ := s.find(t, strings.TrimPrefix(path, module), x.Sel.Name)
				return fd
			}
		}
	}
	return nil
}

// walk records the names fd reads and follows the calls it hands a Reader.
func (s *scan) walk(t *testing.T, fd *ast.FuncDecl) {
	t.Helper()
	if s.seen[fd] || fd.Body == nil {
		return
	}
	s.seen[fd] = true
	dir, file := s.dirOf[fd], s.fileOf[fd]
	readers := map[string]bool{}
	for _, field := range fd.Type.Params.List {
		if isReaderType(field.Type) {
			for _, n := range field.Names {
				readers[n.Name] = true
			}
		}
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
			if call, ok := as.Rhs[0].(*ast.CallExpr); ok && isSelector(call.Fun, "settings", "NewReader") {
				if id, ok := as.Lhs[0].(*ast.Ident); ok {
					readers[id.Name] = true
				}
			}
		}
		return true
	})
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && readers[id.Name] && len(call.Args) > 0 {
				s.record(t, call.Args[0])
				return true
			}
		}
		for i, arg := range call.Args {
			if id, ok := arg.(*ast.Ident); ok && readers[id.Name] {
				if i+1 < len(call.Args) {
					s.record(t, call.Args[i+1])
				}
				if callee := s.resolve(t, dir, file, call.Fun); callee != nil {
					s.walk(t, callee)
				}
				break
			}
		}
		return true
	})
}

// record keeps e when it is a string literal shaped like a variable name;
// anything else is a parameter passed on, recorded where it is a literal.
func (s *scan) record(t *testing.T, e ast.Expr) {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return
	}
	v, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	if envName.MatchString(v) {
		s.names[v] = true
	}
}

func isReaderType(e ast.Expr) bool {
	star, ok := e.(*ast.StarExpr)
	return ok && isSelector(star.X, "settings", "Reader")
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// TestConfigNamesFollowsTheLoaders pins what the source scan finds for
// loaders of each shape, so a scan that silently finds less cannot make
// TestEnvironmentMatchesConfig pass: a shared loader through a generic
// helper (approval.LoadSettings → required[T](r, "NAME", …)), a local one
// calling into a shared package (ReadSettings, ReadReminderLead), and
// settings.Parse with Reader methods side by side.
func TestConfigNamesFollowsTheLoaders(t *testing.T) {
	root, err := sample.Root()
	if err != nil {
		t.Fatal(err)
	}
	contract := []string{"APPROVAL_URL", "APPROVER_TOPIC_ARN", "DECISIONS_TABLE", "LINK_TTL", "PROOF_KEY_ARN",
		"TARGET_ACCOUNT_IDS", "TARGET_ORGANIZATION_ARNS", "TARGET_OU_ARNS", "TARGET_TOPIC_ARN",
		"APPROVERS", "APPROVAL_FROM", "APPROVAL_QUORUM", "APPROVAL_QUORUM_ORGANIZATIONS", "APPROVAL_QUORUM_ACCOUNTS"}
	tests := []struct {
		name string
		want []string
	}{
		{name: "ami-approval-link", want: contract},
		{name: "ami-approval-sweeper", want: append(slices.Clone(contract), "OPS_TOPIC_ARN", "STEP_REMINDER_LEAD")},
		{name: "snapshot-on-volume-create", want: []string{"ATTACH_WAIT", "COVERAGE_SCOPE", "OPS_TOPIC_ARN", "PROOF_KEY_ARN", "REPLACEMENTS_TABLE", "REPLACE_OPT_IN_TAG", "SNAPSHOT_TAG"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, configNames(t, root, tt.name)); diff != "" {
				t.Errorf("configNames(%s) differs (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}
