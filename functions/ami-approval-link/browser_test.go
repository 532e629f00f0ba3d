package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/apigateway"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
)

// chromium returns Debian's Chromium. The test is skipped, not failed, only
// when it is missing and AWSTEST_REQUIRE is unset; `make test` sets it.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AWSTEST_REQUIRE") == "" {
			t.Skip("chromium is not installed (apt-get install chromium); set AWSTEST_REQUIRE to fail instead")
		}
		t.Fatal("chromium is not installed and AWSTEST_REQUIRE is set: apt-get install --no-install-recommends chromium")
	}
	return path
}

// TestBrowserApprovesThroughThePage drives the real page in headless
// Chromium, served by the handler through the local HTTP adapter: the link
// from the email opens the request, Approve posts the form, and the
// confirmation shows. Screenshots of both pages go to the test's artifact
// folder: `go test -run Browser -artifacts -outputdir DIR` keeps them.
func TestBrowserApprovesThroughThePage(t *testing.T) {
	chrome := chromium(t)

	var served http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.ServeHTTP(w, r) }))
	defer srv.Close()
	f := newFixture(t, srv.URL+"/")
	served = apigateway.Handler(f.h.Handle)
	ami, token := f.singleRegion(t)
	link := approval.Link(srv.URL+"/", mustToken(t, token))

	allocCtx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 900),
	)
	defer cancel()
	browser, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first run starts the browser and must have no deadline of its own.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()

	dir := t.ArtifactDir()
	t.Logf("screenshots in %s", dir)
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	approve := chromedp.CSS(`button[value="approve"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(approve)); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	screenshot("1-request.png")
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || heading != "Approve sharing of this AMI build?" {
		t.Errorf("heading = %q, %v", heading, err)
	}
	amis, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table")))
	if err != nil || !strings.Contains(amis, ami) {
		t.Errorf("AMI table = %q, %v; want %s in it", amis, err, ami)
	}
	// The style element is allowed by its hash in the CSP: if the hash were
	// wrong, the browser would drop the styles without a word.
	width, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("main")).maxWidth`))
	if err != nil || width != "736px" {
		t.Errorf("main max-width = %q, %v; want 736px (46rem) from the page's style", width, err)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions after opening the page = %v, want none", got)
	}

	if err := chromedp.Do(ctx, chromedp.Click(approve), chromedp.WaitVisible(chromedp.CSS("#outcome"))); err != nil {
		t.Fatalf("approve: %v", err)
	}
	screenshot("2-approved.png")
	outcome, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#outcome")))
	if err != nil || !strings.HasPrefix(outcome, "Approved. Every AMI below is shared") {
		t.Errorf("confirmation = %q, %v", outcome, err)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
		t.Errorf("launch permissions after Approve = %v, want %v", got, approvaltest.Targets.Accounts)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
}

func mustToken(t *testing.T, s string) approval.Token {
	t.Helper()
	tok, err := approval.ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
