package diskalarm

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// KindRemoveAll is the operator's {"action": "remove-all", "dryRun": …}:
// delete every alarm under the prefix, before the stack is deleted.
const KindRemoveAll = "remove-all"

// removeAllFields are the fields of a remove-all invocation.
var removeAllFields = []string{"action", "dryRun"}

// removeAllListed caps the names a remove-all result lists, so that the
// answer stays far below Lambda's 6 MB response limit; Found counts them all.
const removeAllListed = 1000

// decodeAction reads {"action": "remove-all", "dryRun": true|false}. dryRun
// must be given, as a boolean: a deletion of every alarm is never the
// default of a typo.
func decodeAction(fields map[string]json.RawMessage) (Invocation, error) {
	for name := range fields {
		if !slices.Contains(removeAllFields, name) {
			return Invocation{}, badInput("unknown field %q with action (want action and dryRun)", awsid.Clip(name, 80))
		}
	}
	var action string
	if err := json.Unmarshal(fields["action"], &action); err != nil {
		return Invocation{}, badInput("action must be a string, got %s", jsonKind(fields["action"]))
	}
	if action != KindRemoveAll {
		return Invocation{}, badInput("unknown action %q (the one action is %q)", awsid.Clip(action, 80), KindRemoveAll)
	}
	raw, ok := fields["dryRun"]
	if !ok {
		return Invocation{}, badInput(`dryRun is missing: say {"action": "remove-all", "dryRun": true} to list the alarms, then false to delete them`)
	}
	var dryRun *bool
	if err := json.Unmarshal(raw, &dryRun); err != nil || dryRun == nil {
		return Invocation{}, badInput("dryRun must be true or false, got %s", jsonKind(raw))
	}
	return Invocation{Kind: KindRemoveAll, DryRun: *dryRun}, nil
}

// RemoveAllResult answers a remove-all invocation.
type RemoveAllResult struct {
	Action string `json:"action"`
	DryRun bool   `json:"dryRun"`
	Prefix string `json:"prefix"`
	// Found counts the alarms under the prefix; Alarms names them (up to
	// 1,000, in name order).
	Found  int      `json:"found"`
	Alarms []string `json:"alarms"`
	// Deleted counts the alarms deleted; Failed the ones a DeleteAlarms
	// call refused; Left the ones not tried before the deadline.
	Deleted int       `json:"deleted"`
	Failed  []Failure `json:"failed"`
	Left    int       `json:"left,omitempty"`
	Note    string    `json:"note"`
}

// RemoveAll deletes every metric alarm under the prefix, 100 names a
// DeleteAlarms call, paced like every other write. With dryRun it lists
// them and deletes nothing. A failed listing returns the error before any
// delete; the deadline stops the deletes and the result says how many are
// left (invoke again: the next run finds only those).
func (r *Reconciler) RemoveAll(ctx context.Context, dryRun bool) (RemoveAllResult, error) {
	res := RemoveAllResult{Action: KindRemoveAll, DryRun: dryRun, Prefix: r.Alarms.Prefix, Alarms: []string{}, Failed: []Failure{}}
	if err := ValidatePrefix(r.Alarms.Prefix); err != nil {
		return res, err
	}
	log := r.logger().With("action", KindRemoveAll, "dryRun", dryRun, "prefix", r.Alarms.Prefix)
	run := deadline.StartKeeping(ctx, r.DeadlineMargin)
	defer run.Stop()
	work := run.Work()

	have, err := r.existing(work, []string{r.Alarms.Prefix})
	if err != nil {
		return res, err
	}
	names := make([]string, len(have))
	for i, a := range have {
		names[i] = a.Name
	}
	slices.Sort(names)
	res.Found = len(names)
	res.Alarms = names[:min(len(names), removeAllListed)]

	if dryRun {
		res.Note = fmt.Sprintf(`dry run: %d alarms under %q would be deleted; nothing was changed. Invoke with {"action": "remove-all", "dryRun": false} to delete them.`, res.Found, r.Alarms.Prefix)
		log.InfoContext(ctx, "remove-all dry run", "found", res.Found)
		return res, nil
	}
	for start := 0; start < len(names); start += deleteBatch {
		batch := names[start:min(start+deleteBatch, len(names))]
		if !r.pace(work) {
			res.Left = len(names) - start
			break
		}
		if _, err := r.CloudWatch.DeleteAlarms(work, &cloudwatch.DeleteAlarmsInput{AlarmNames: batch}); err != nil {
			if work.Err() != nil {
				res.Left = len(names) - start
				break
			}
			log.WarnContext(ctx, "delete failed", "alarmNames", batch, "error", err.Error())
			for _, n := range batch {
				res.Failed = append(res.Failed, Failure{Alarm: n, Error: err.Error()})
			}
			continue
		}
		res.Deleted += len(batch)
		log.InfoContext(ctx, "alarms deleted", "alarmNames", batch)
	}
	switch {
	case res.Left > 0:
		res.Note = fmt.Sprintf("the deadline came with %d alarms left to delete: invoke again to delete the rest", res.Left)
	case len(res.Failed) > 0:
		res.Note = fmt.Sprintf("%d alarms could not be deleted (see failed): invoke again once the cause is fixed", len(res.Failed))
	default:
		res.Note = fmt.Sprintf("deleted every alarm under %q. A scheduled or event-driven run recreates alarms until the stack is deleted or the function disabled.", r.Alarms.Prefix)
	}
	log.InfoContext(ctx, "remove-all done", "found", res.Found, "deleted", res.Deleted, "failed", len(res.Failed), "left", res.Left)
	return res, nil
}
