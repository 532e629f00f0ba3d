// Package testkit is the root of the suite's test and local-run tooling:
// the moto harness (awstest), the IAM-enforcing layer in front of it (iam,
// with its policy evaluator iam/policy, the Service Authorization Reference
// data iam/catalog, and the template resolver cfn), a local Lambda Runtime
// API (runtimeapi), API Gateway over plain HTTP (apigateway), fakes that
// speak AWS's wire protocols on loopback (fakehealthgate, fakeimagebuilder)
// and their base (wirefake: the httptest server, the call log over calllog,
// the signing Region, the error shapes), the replace-root-volume
// task fake (replacetest), an OpenID Connect provider (oidctest), fault
// injection (fault), the sample events (sample), an EMF reader (emf), and
// per-domain helpers (approvaltest, diskalarmtest, notifytest, and sestest:
// the emails sent with SES, as moto accepted them).
//
// Nothing under it is linked into a function binary: TestFunctionsShipNoTooling
// checks that with `go list -deps ./functions/...`. It lives beside the
// decision packages, not under an internal/ folder, because the functions'
// tests and scripts/ need it too, and Go's internal rule would hide a
// shared/internal package from them.
package testkit
