package diskalarm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFailedLine(t *testing.T) {
	req := Request{Trigger: TriggerDirect}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"bad input", badInput("no cursor"), "ERROR request rejected trigger=direct error=bad input: no cursor"},
		{"a read", fmt.Errorf("describe instances: %w", errors.New("throttled")), "ERROR reconcile failed before any write trigger=direct error=describe instances: throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text(FailedLine(req, tt.err)); got != tt.want {
				t.Errorf("FailedLine(%+v, %v) = %q, want %q", req, tt.err, got, tt.want)
			}
		})
	}
}

func TestStepLines(t *testing.T) {
	req := Request{Trigger: TriggerResume, Origin: TriggerSchedule, Pass: 2, Cursor: "a"}
	res := Result{Trigger: TriggerResume, Scope: "fleet", Selection: "every instance", Instances: 3, Disks: 4,
		Created: 1, Updated: 2, Unchanged: 3, Deleted: 4, Kept: 5, SkippedTotal: 6, SizeUnknown: []Skip{{}}, Failed: []Failure{{}, {}},
		Incomplete: true, Cursor: "b", Left: 7, Writes: 8, Note: "n"}
	done := "INFO reconcile done trigger=resume scope=fleet selection=every instance pass=2 instances=3 disks=4 created=1 updated=2 unchanged=3 deleted=4 kept=5 skipped=6 sizeUnknown=1 failed=2 incomplete=true note=n"
	tests := []struct {
		step Step
		err  error
		want []string
	}{
		{StepDone, nil, []string{done}},
		{StepFail, errors.New("out of time"), []string{"ERROR no progress before the deadline trigger=resume left=7 error=out of time"}},
		{StepStuck, nil, []string{"ERROR the cursor did not move forward before the deadline; not continuing, the next scheduled run tries again pass=2 cursor=a writes=8", done}},
		{StepNoQueue, nil, []string{"WARN no RESUME_QUEUE_URL: the next scheduled run continues cursor=b", done}},
		{StepOneInstance, nil, []string{"WARN a state change's run stopped at the deadline; the next scheduled run continues trigger=resume cursor=b", done}},
		{StepContinue, nil, []string{"INFO continuation queued cursor=b pass=3", done}},
		{StepContinue, errors.New("queue the continuation: access denied"), []string{"ERROR continuation not queued cursor=b error=queue the continuation: access denied"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s, %v", tt.step, tt.err), func(t *testing.T) {
			var got []string
			for _, l := range tt.step.Lines(req, res, tt.err) {
				got = append(got, text(l))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q.Lines(%+v, %+v, %v) (-want +got):\n%s", tt.step, req, res, tt.err, diff)
			}
		})
	}
	// StepFail without its error names the no-progress one.
	if l := StepFail.Lines(req, res, nil); len(l) != 1 || !strings.Contains(text(l[0]), ErrOutOfTime.Error()) {
		t.Errorf("StepFail.Lines(nil) = %v, want the no-progress error", l)
	}
}
