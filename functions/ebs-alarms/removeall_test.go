package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
	"github.com/google/go-cmp/cmp"
)

// outsidePrefix are alarms remove-all must leave: another owner's, and one
// whose name only starts like the prefix.
var outsidePrefix = []string{"team-a/cpu high", "lambda-suite/disk-spaceship i-0 C: Warning", "Lambda-Suite/disk-space/i-0 C: Warning"}

// putAlarms creates n alarms under the prefix and the ones outside it, and
// returns the names under the prefix.
func putAlarms(t *testing.T, f *fixture, n int) []string {
	t.Helper()
	var under []string
	for i := range n {
		under = append(under, diskalarm.AlarmName(prefix, fmt.Sprintf("i-%017d", i), "C:", "Warning"))
	}
	for _, name := range slices.Concat(under, outsidePrefix) {
		if _, err := f.cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String(diskalarmtest.Namespace), MetricName: aws.String("FreeStorageSpaceInPercent"),
			Statistic: cwtypes.StatisticMinimum, ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
			Threshold: aws.Float64(20), Period: aws.Int32(300), EvaluationPeriods: aws.Int32(2),
		}); err != nil {
			t.Fatalf("PutMetricAlarm(%s): %v", name, err)
		}
	}
	slices.Sort(under)
	return under
}

func TestRemoveAll(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic})
	// More than one DescribeAlarms page and one DeleteAlarms batch.
	under := putAlarms(t, f, 230)
	all := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, "")))

	t.Run("dry run lists them and deletes nothing", func(t *testing.T) {
		f.calls.Reset()
		out, err := f.h.Handle(context.Background(), sample(t, "remove-all-dry-run.json", ""))
		if err != nil {
			t.Fatalf("Handle(remove-all dry run) = %v", err)
		}
		res := out.(diskalarm.RemoveAllResult)
		if !res.DryRun || res.Found != len(under) || res.Deleted != 0 || res.Prefix != prefix {
			t.Errorf("result = %+v, want a dry run that found %d under %q and deleted none", res, len(under), prefix)
		}
		if diff := cmp.Diff(under, res.Alarms); diff != "" {
			t.Errorf("listed alarms (-want +got):\n%s", diff)
		}
		if !strings.Contains(res.Note, `"dryRun": false`) {
			t.Errorf("note %q does not say how to delete them", res.Note)
		}
		if w := f.calls.Writes(); len(w) != 0 {
			t.Errorf("writes = %v, want none", w)
		}
		if got := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, ""))); !slices.Equal(got, all) {
			t.Errorf("alarms after the dry run: %d, want the %d there were", len(got), len(all))
		}
	})

	t.Run("removes only alarms under the prefix", func(t *testing.T) {
		f.calls.Reset()
		out, err := f.h.Handle(context.Background(), sample(t, "remove-all.json", ""))
		if err != nil {
			t.Fatalf("Handle(remove-all) = %v", err)
		}
		res := out.(diskalarm.RemoveAllResult)
		if res.DryRun || res.Found != len(under) || res.Deleted != len(under) || len(res.Failed) != 0 || res.Left != 0 {
			t.Errorf("result = %+v, want %d found and deleted", res, len(under))
		}
		if got, want := f.calls.Count("CloudWatch.DeleteAlarms"), 3; got != want { // 230 names, 100 a call
			t.Errorf("DeleteAlarms calls = %d, want %d", got, want)
		}
		left := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, "")))
		if diff := cmp.Diff(slices.Sorted(slices.Values(outsidePrefix)), left); diff != "" {
			t.Errorf("alarms left (-want +got):\n%s", diff)
		}
	})

	t.Run("nothing left to remove", func(t *testing.T) {
		out, err := f.h.Handle(context.Background(), sample(t, "remove-all.json", ""))
		if err != nil {
			t.Fatalf("Handle(remove-all) again = %v", err)
		}
		if res := out.(diskalarm.RemoveAllResult); res.Found != 0 || res.Deleted != 0 {
			t.Errorf("second run = %+v, want nothing found", res)
		}
	})
}

func TestRemoveAllBadInputChangesNothing(t *testing.T) {
	f := newFixture(t, nil)
	putAlarms(t, f, 3)
	before := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, "")))
	tests := []struct {
		name, payload, want string
	}{
		{"dryRun missing", `{"action": "remove-all"}`, "dryRun is missing"},
		{"dryRun a string", `{"action": "remove-all", "dryRun": "false"}`, "dryRun must be true or false, got a string"},
		{"dryRun null", `{"action": "remove-all", "dryRun": null}`, "dryRun must be true or false, got null"},
		{"dryRun a number", `{"action": "remove-all", "dryRun": 0}`, "dryRun must be true or false, got a number"},
		{"unknown action", `{"action": "remove-some", "dryRun": false}`, `unknown action "remove-some"`},
		{"action not a string", `{"action": true, "dryRun": false}`, "action must be a string"},
		{"extra field", `{"action": "remove-all", "dryRun": false, "prefix": "team-a/"}`, `unknown field "prefix"`},
		{"mixed with a direct invocation", `{"action": "remove-all", "dryRun": false, "hostname": "*"}`, `unknown field "hostname"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), json.RawMessage(tt.payload))
			if !errors.Is(err, diskalarm.ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Handle(%s) = %v, want a bad-input error saying %q", tt.payload, err, tt.want)
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%v), want none", n, f.calls)
			}
		})
	}
	if got := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, ""))); !slices.Equal(got, before) {
		t.Errorf("alarms after bad input = %v, want %v", got, before)
	}
}
