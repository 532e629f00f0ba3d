// Package healthgate holds the decisions of the health-aware pipeline gate
// (pipeline-health-gate) and of the retry of the stages it failed
// (pipeline-stage-retry). AWS calls go through the small interfaces in
// api.go; everything else is plain functions over plain data.
//
// Where each decision lives:
//
//   - job.go: DecodeJob reads a CodePipeline job event (a job with an ID is
//     always answered); ParseToken and Token are the continuation token.
//   - params.go: ParseParams reads what a pipeline asks for in its
//     UserParameters, naming every problem at once.
//   - gate.go: PlanCheck decides whether a job is checked at all (a bad
//     event, bad UserParameters, a bad token or no time to check answer at
//     once); Gate.Answer is its adapter: the budget, PlanCheck, Check and
//     Decide.
//   - check.go: Check asks AWS Health (blocking filters its answer again);
//     endpoint.go: HealthClient fails over between AWS Health's endpoints.
//   - decide.go: Decide turns one check into the answer (pass, fail, or
//     wait with a continuation token until maxWait), with every Verdict and
//     message prefix named.
//   - answer.go: Send gives CodePipeline the answer and classifies its
//     errors (ErrJobClosed, ErrAnswerRefused); reply.go: Delivered turns
//     that into the invocation's GateResult, and Reply is the guard that
//     never answers a job twice, also after a panic (Reply.Recover).
//   - retry.go: DecodeRetryInput, and Retrier, which retries a stage the
//     gate failed once AWS Health clears, or schedules a re-check
//     (RetryConfig.Delay); allclear.go: an AWS Health all-clear from
//     EventBridge re-checks the stages waiting on it at once
//     (Retrier.HandleHealthChange), the schedules staying the fallback.
//   - params.go also holds the scope of a check (accounts, event type
//     codes with wildcards, actionabilities; Params.CheckScope), which
//     check.go applies server-side where AWS Health's filters can, and
//     client-side for the rest.
package healthgate
