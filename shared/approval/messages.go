package approval

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// The plain-text messages the functions publish (notify.Publish). SNS email
// subscriptions send them as they are.

// approvalEmail is the approver's email: what was built, who it will be
// shared with, when the link expires, and the link.
func approvalEmail(req Request, im Image, link string) (subject, body string) {
	subject = notify.Subject("Approve sharing of AMI build " + buildLabel(req.ImageName, req.Version))
	var b strings.Builder
	fmt.Fprintf(&b, "EC2 Image Builder finished a build that needs your approval before it is shared.\n\n")
	fmt.Fprintf(&b, "Build:   %s\n", oneLine(req.ImageARN))
	if !im.Created.IsZero() {
		fmt.Fprintf(&b, "Built:   %s\n", im.Created.UTC().Format(time.RFC1123))
	}
	fmt.Fprintf(&b, "Request: %s\n\n", req.Ref)
	fmt.Fprintf(&b, "AMIs (as Image Builder lists them, named as EC2 reports them):\n")
	for _, a := range req.AMIs {
		fmt.Fprintf(&b, "  %s\n", amiLine(a))
	}
	if len(im.Elsewhere) > 0 {
		fmt.Fprintf(&b, "\nNot part of this approval (distributed to other accounts):\n")
		for _, a := range im.Elsewhere {
			fmt.Fprintf(&b, "  %s  %s\n", oneLine(a.ID), oneLine(a.Region))
		}
	}
	fmt.Fprintf(&b, "\nOn approval, each AMI is shared (launch permission) with:\n")
	for _, line := range req.Targets.Describe() {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	fmt.Fprintf(&b, "\nThe link expires %s (in %s).\n\n", req.LinkExpiresAt.UTC().Format(time.RFC1123), Roughly(req.LinkExpiresAt.Sub(req.CreatedAt)))
	fmt.Fprintf(&b, "Review and decide:\n%s\n\n", link)
	fmt.Fprintf(&b, "Opening the link changes nothing: the page shows the request with an Approve and a Reject button,\n")
	fmt.Fprintf(&b, "and only pressing one of them decides. The link works once; do not forward this email.\n")
	return subject, b.String()
}

// refusalNotice tells the approvers that a message about a build was
// refused: Image Builder does not vouch for what it says. No link: there is
// nothing to approve.
func refusalNotice(im Image, reason string) (subject, body string) {
	subject = notify.Subject(fmt.Sprintf("AMI build %s refused: not as Image Builder reports it", buildLabel(im.Name, im.Version)))
	var b strings.Builder
	fmt.Fprintf(&b, "A message about an EC2 Image Builder build said what Image Builder does not: the reason is below.\n")
	fmt.Fprintf(&b, "Nothing was requested and nothing is shared. If you did not expect this, someone may have\n")
	fmt.Fprintf(&b, "published a forged message to the Image Builder topic: check who can publish to it.\n\n")
	fmt.Fprintf(&b, "Build:  %s\n", oneLine(im.ARN))
	fmt.Fprintf(&b, "Reason: %s\n", oneLine(reason))
	return subject, b.String()
}

// failureNotice tells the approvers that a build did not produce an image.
func failureNotice(im Image) (subject, body string) {
	subject = notify.Subject(fmt.Sprintf("AMI build %s %s", buildLabel(im.Name, im.Version), im.Status))
	var b strings.Builder
	fmt.Fprintf(&b, "EC2 Image Builder reports build status %s: nothing to approve, nothing is shared.\n\n", oneLine(im.Status))
	fmt.Fprintf(&b, "Build:  %s\n", oneLine(im.ARN))
	if !im.Created.IsZero() {
		fmt.Fprintf(&b, "Built:  %s\n", im.Created.UTC().Format(time.RFC1123))
	}
	if im.Reason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", oneLine(im.Reason))
	}
	return subject, b.String()
}

// targetNotice tells the target accounts which AMIs were shared with whom.
func targetNotice(req Request) (subject, body string) {
	subject = notify.Subject("AMIs shared with you: " + buildLabel(req.ImageName, req.Version))
	var b strings.Builder
	fmt.Fprintf(&b, "These AMIs were approved and shared with you (launch permission):\n\n")
	for _, a := range req.AMIs {
		fmt.Fprintf(&b, "  %s\n", amiLine(a))
	}
	fmt.Fprintf(&b, "\nShared with:\n")
	for _, line := range req.Targets.Describe() {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	if len(req.KeyNotes) > 0 {
		fmt.Fprintf(&b, "\nThe AMIs' snapshots are encrypted with customer managed KMS keys. To launch them, your account\n")
		fmt.Fprintf(&b, "needs use of these keys (kms:Decrypt, kms:DescribeKey, kms:CreateGrant, kms:ReEncrypt*, kms:GenerateDataKey*):\n")
		for _, k := range req.KeyNotes {
			fmt.Fprintf(&b, "  %s\n", oneLine(k))
		}
	}
	fmt.Fprintf(&b, "\nBuild:    %s\nApproved: %s (request %s)\n", oneLine(req.ImageARN), req.DecidedAt.UTC().Format(time.RFC1123), req.Ref)
	return subject, b.String()
}

// tamperNotice tells the operators that a record of the decisions table
// was refused: it does not verify with the proof key, so someone who is
// none of the approval functions' roles wrote or changed it. Everything in
// t but the reason comes from that record.
func tamperNotice(table string, t Tamper) (subject, body string) {
	subject = notify.Subject("AMI approval: tampered record refused (request " + t.Ref + ")")
	var b strings.Builder
	fmt.Fprintf(&b, "A record in the AMI approval decisions table was refused as tampered: nothing was shared,\n")
	fmt.Fprintf(&b, "no workflow step was acted on, and no one was told but you.\n\n")
	fmt.Fprintf(&b, "Table:   %s\n", oneLine(table))
	fmt.Fprintf(&b, "Request: %s (as the record names it)\n", oneLine(t.Ref))
	fmt.Fprintf(&b, "Build:   %s (as the record names it)\n", oneLine(t.ImageARN))
	fmt.Fprintf(&b, "Reason:  %s\n\n", oneLine(t.Reason))
	fmt.Fprintf(&b, "Only the approval functions' roles can make the records' MACs (the proof key's policy). A record\n")
	fmt.Fprintf(&b, "that does not verify was written or changed by another principal with write access to the table:\n")
	fmt.Fprintf(&b, "find it in CloudTrail (DynamoDB data events), then delete the record. It is told here once.\n")
	return subject, b.String()
}

// amiLine shows an AMI on one line: ID, Region, and EC2's name and
// creation date when EC2 knows the AMI.
func amiLine(a AMI) string {
	line := oneLine(a.ID) + "  " + oneLine(a.Region) + "  "
	if a.Name == "" && a.Created.IsZero() {
		return line + "(EC2 does not know this AMI)"
	}
	line += oneLine(a.Name)
	if !a.Created.IsZero() {
		line += "  created " + a.Created.UTC().Format(time.RFC3339)
	}
	return line
}

// sweepNotice tells the approvers how the sweeper finished an approval
// whose sharing had stopped part way.
func sweepNotice(req Request) (subject, body string) {
	var b strings.Builder
	switch req.Outcome {
	case OutcomeShared:
		subject = "AMI build " + buildLabel(req.ImageName, req.Version) + ": sharing finished"
		fmt.Fprintf(&b, "Sharing of this approved build had stopped part way. It is now finished: every AMI is shared\n")
		fmt.Fprintf(&b, "and the target accounts were told.\n\n")
	default:
		subject = "AMI build " + buildLabel(req.ImageName, req.Version) + ": sharing reverted"
		fmt.Fprintf(&b, "Sharing of this approved build had stopped part way, and could not be finished: %s.\n", oneLine(req.Reason))
		if len(req.Shared) > 0 {
			fmt.Fprintf(&b, "Undoing it failed for some AMIs; these are STILL SHARED:\n")
			for _, a := range req.Shared {
				fmt.Fprintf(&b, "  %s  %s\n", oneLine(a.ID), oneLine(a.Region))
			}
		} else {
			fmt.Fprintf(&b, "It was reverted: nothing is shared.\n")
		}
		if req.Outcome == OutcomeFailed {
			fmt.Fprintf(&b, "Retry from the approval page while its link is valid.\n")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Build:   %s\nRequest: %s\n", oneLine(req.ImageARN), req.Ref)
	return notify.Subject(subject), b.String()
}

// buildLabel names a build for a subject; notify.Subject makes it one line.
// The build's name in it is Image Builder's (Build.Label), or the ARN's.
func buildLabel(name, version string) string {
	return strings.TrimSpace(name + " " + version)
}

// oneLine makes text from Image Builder's message (names, versions, reasons,
// ARNs: anyone who can publish to its topic chooses them) safe on a line of
// a plain-text email: control characters (C0, DEL, C1), Unicode line and
// paragraph separators, bidirectional overrides and invalid UTF-8 become
// '?', so the text cannot start a line of its own, such as a forged
// "Review and decide: https://…".
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == '\u2028', r == '\u2029',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == utf8.RuneError:
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// Roughly says a duration as a person would: "2 days", "5 hours", "3
// minutes". The emails and the approval page both say durations with it, so
// they agree on how long is left.
func Roughly(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Round(time.Hour).Hours()+12)/24)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Round(time.Hour).Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	default:
		return "a minute or less"
	}
}
