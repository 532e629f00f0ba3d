package approval

import (
	"fmt"
	"strings"
	"time"
)

// The plain-text messages the functions publish. SNS email subscriptions
// send them as they are.

// ApprovalEmail is the approver's email: what was built, who it will be
// shared with, when the link expires, and the link.
func ApprovalEmail(req Request, im Image, link string) (subject, body string) {
	subject = subjectLine("Approve sharing of AMI build " + buildLabel(req.ImageName, req.Version))
	var b strings.Builder
	fmt.Fprintf(&b, "EC2 Image Builder finished a build that needs your approval before it is shared.\n\n")
	fmt.Fprintf(&b, "Build:   %s\n", req.ImageARN)
	if !im.Created.IsZero() {
		fmt.Fprintf(&b, "Built:   %s\n", im.Created.UTC().Format(time.RFC1123))
	}
	fmt.Fprintf(&b, "Request: %s\n\n", req.Ref)
	fmt.Fprintf(&b, "AMIs:\n")
	for _, a := range req.AMIs {
		fmt.Fprintf(&b, "  %s  %s  %s\n", a.ID, a.Region, a.Name)
	}
	if len(im.Elsewhere) > 0 {
		fmt.Fprintf(&b, "\nNot part of this approval (distributed to other accounts):\n")
		for _, a := range im.Elsewhere {
			fmt.Fprintf(&b, "  %s  %s\n", a.ID, a.Region)
		}
	}
	fmt.Fprintf(&b, "\nOn approval, each AMI is shared (launch permission) with:\n")
	for _, line := range req.Targets.Describe() {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "\nThe link expires %s (in %s).\n\n", req.LinkExpiresAt.UTC().Format(time.RFC1123), humanDuration(req.LinkExpiresAt.Sub(req.CreatedAt)))
	fmt.Fprintf(&b, "Review and decide:\n%s\n\n", link)
	fmt.Fprintf(&b, "Opening the link changes nothing: the page shows the request with an Approve and a Reject button,\n")
	fmt.Fprintf(&b, "and only pressing one of them decides. The link works once; do not forward this email.\n")
	return subject, b.String()
}

// FailureNotice tells the approvers that a build did not produce an image.
func FailureNotice(im Image) (subject, body string) {
	subject = subjectLine(fmt.Sprintf("AMI build %s %s", buildLabel(im.Name, im.Version), im.Status))
	var b strings.Builder
	fmt.Fprintf(&b, "EC2 Image Builder reports build status %s: nothing to approve, nothing is shared.\n\n", im.Status)
	fmt.Fprintf(&b, "Build:  %s\n", im.ARN)
	if !im.Created.IsZero() {
		fmt.Fprintf(&b, "Built:  %s\n", im.Created.UTC().Format(time.RFC1123))
	}
	if im.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", im.Reason)
	}
	return subject, b.String()
}

// TargetNotice tells the target accounts which AMIs were shared with whom.
func TargetNotice(req Request) (subject, body string) {
	subject = subjectLine("AMIs shared with you: " + buildLabel(req.ImageName, req.Version))
	var b strings.Builder
	fmt.Fprintf(&b, "These AMIs were approved and shared with you (launch permission):\n\n")
	for _, a := range req.AMIs {
		fmt.Fprintf(&b, "  %s  %s  %s\n", a.ID, a.Region, a.Name)
	}
	fmt.Fprintf(&b, "\nShared with:\n")
	for _, line := range req.Targets.Describe() {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	if len(req.KeyNotes) > 0 {
		fmt.Fprintf(&b, "\nThe AMIs' snapshots are encrypted with customer managed KMS keys. To launch them, your account\n")
		fmt.Fprintf(&b, "needs use of these keys (kms:Decrypt, kms:DescribeKey, kms:CreateGrant, kms:ReEncrypt*, kms:GenerateDataKey*):\n")
		for _, k := range req.KeyNotes {
			fmt.Fprintf(&b, "  %s\n", k)
		}
	}
	fmt.Fprintf(&b, "\nBuild:    %s\nApproved: %s (request %s)\n", req.ImageARN, req.DecidedAt.UTC().Format(time.RFC1123), req.Ref)
	return subject, b.String()
}

func buildLabel(name, version string) string {
	return strings.TrimSpace(name + " " + version)
}

// subjectLine fits SNS's rules for an email subject: printable ASCII, no
// line breaks, at most 100 characters. The name comes from the message.
func subjectLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if len(out) > 100 {
		out = out[:97] + "..."
	}
	return out
}

// humanDuration says 72h as "3 days", 90m as "1h30m".
func humanDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n > 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
