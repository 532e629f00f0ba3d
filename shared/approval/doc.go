// Package approval lets a person approve an EC2 Image Builder build before
// its AMIs go further. It has two flows, which share one core.
//
// # The SNS flow (share on approval)
//
// Image Builder's SNS message about a build reaches Requester.Handle
// (request.go). The message is a hint: Image Builder is asked for the build
// (getBuild, build.go), and a message it does not vouch for is refused.
// An AVAILABLE build gets one approval request, stored under the SHA-256
// hash of a random Token (token.go), and one email whose link carries the
// token; a failed build gets a notice. Opening the link (GET) only shows
// the request; approving or rejecting is a POST to Decider.Decide
// (decide.go), which hands the request to decideShare: the first decision
// wins, and an approval checks each AMI (check and checkAMI, check.go),
// shares it in its own Region with the configured targets the request
// named (share), all or nothing, and tells the target topic. The sweeper's
// Decider.Sweep finishes an approval whose invocation stopped while
// sharing (sweepStopped, sweep.go).
//
// # The workflow flow (resume or stop a waiting step)
//
// An Image Builder workflow can pause at a WaitForAction step. Its
// EventBridge event reaches Requester.HandleStep (steprequest.go), which
// asks Image Builder for the step and the build and stores a request bound
// to the Step. Decider.Decide hands such a request to decideStep
// (stepdecide.go), which sends RESUME (approve) or STOP (reject) to the
// step, once, with a client token derived from the request; nothing is
// shared, the workflow's distribution does that. Decider.Sweep sends again
// a decision Image Builder never confirmed and reminds the approvers of a
// step about to time out (sweepSteps, stepsweep.go and stepremind.go).
//
// # Named approvers, M of N (either flow)
//
// With APPROVERS set (ReadNamed, named.go), Requester.name makes the
// request named: its approvers and quorum (Named.QuorumFor its targets)
// are sealed with it, and each approver gets a sealed ticket and a token
// of their own (namedstore.go), emailed through shared/mail (SES) by
// Requester.send. Decider.Decide hands a named request's POST to
// Decider.vote (namedecide.go) first: each approver's vote is written
// once, sealed; an approval short of the quorum stops there (Pending),
// while a rejection or the approval that reaches the quorum goes on to the
// flow's decision, whose conditional write makes it happen once.
//
// # The shared core
//
//   - One claim protocol (store.go): a build's claim (image#<ARN>) or a
//     step's (step#<ID>) is created with its request, taken over when its
//     holder never published, given back after a failed publish, and marked
//     once the email is out (Requester.claim and Requester.publish).
//   - One Store over the decisions table (store.go, stepstore.go): requests,
//     decisions and audit records, each write conditional.
//   - One seal (seal.go, over shared/proof): every request record carries
//     KMS MACs made only by the approval functions' roles; a record that
//     does not verify is refused as tampered and reported (ErrTampered).
//   - One page parser (ParseLinkRequest, link.go), the message texts
//     (messages.go, stepmessages.go), the settings (settings.go) and the
//     approver topic's check (Decider.CheckApprovers, approvers.go).
//
// A new variant of a flow is a method on Requester and Decider beside
// these, reading the request once and dispatching on what it is bound to.
//
// Decisions are plain functions over plain data (ParseImage,
// ParseStepWaiting, ParseLinkRequest, Build.Vouch, assess, notWaiting, the
// message texts); the AWS calls go through the small interfaces in api.go.
package approval
