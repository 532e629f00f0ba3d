package rootvolume

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestParseTag(t *testing.T) {
	tests := []struct {
		in      string
		want    Tag
		wantErr bool
	}{
		{in: "replace-snapshot=true", want: Tag{"replace-snapshot", "true"}},
		{in: " owner = ops team ", want: Tag{"owner", "ops team"}},
		{in: "empty-value=", want: Tag{"empty-value", ""}},
		{in: "a=b=c", want: Tag{"a", "b=c"}},
		{in: "no-equals", wantErr: true},
		{in: "=value", wantErr: true},
		{in: "aws:reserved=1", wantErr: true},
		{in: string(make([]byte, 129)) + "=x", wantErr: true},
		// AWS counts the limits in characters (awsid.ParseTag); the old
		// copy here counted bytes and refused 128 two-byte characters.
		{in: strings.Repeat("é", 128) + "=x", want: Tag{strings.Repeat("é", 128), "x"}},
		{in: "k=\xff", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseTag(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseTag(%q) = %+v, %v, want %+v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func readEvent(t *testing.T, dir, name string) []byte {
	t.Helper()
	return sample.Bytes(t, dir, name)
}

func TestDecodeVolumeEvent(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		want    VolumeEvent
		wantErr bool
	}{
		{name: "available", raw: readEvent(t, "snapshot-on-volume-create", "create-volume-available.json"),
			want: VolumeEvent{VolumeID: "vol-0123456789abcdef0", Event: "createVolume", Result: "available", Region: "us-east-1", Account: "123456789012"}},
		{name: "failed", raw: readEvent(t, "snapshot-on-volume-create", "create-volume-failed.json"),
			want: VolumeEvent{VolumeID: "vol-0fedcba9876543210", Event: "createVolume", Result: "failed", Region: "us-east-1", Account: "123456789012",
				Cause: "arn:aws:kms:us-east-1:123456789012:key/01234567-0123-0123-0123-0123456789ab is disabled."}},
		{name: "snapshot ARN", raw: readEvent(t, "snapshot-on-volume-create", "not-a-volume.json"), wantErr: true},
		{name: "no resources", raw: readEvent(t, "snapshot-on-volume-create", "no-resources.json"), wantErr: true},
		{name: "garbage", raw: []byte("\x00{"), wantErr: true},
		{name: "scheduled event", raw: readEvent(t, "root-volume-cleanup", "scheduled.json"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeVolumeEvent(tt.raw)
			if tt.wantErr {
				if !errors.Is(err, ErrBadEvent) {
					t.Errorf("DecodeVolumeEvent = %+v, %v, want ErrBadEvent", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeVolumeEvent = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeVolumeEvent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeReplaceRequest(t *testing.T) {
	want := ReplaceRequest{InstanceID: "i-0123456789abcdef0", RestoreTo: RestoreLatestSnapshot}
	for _, file := range []string{"latest-snapshot.json", "eventbridge-request.json"} {
		got, err := DecodeReplaceRequest(readEvent(t, "replace-root-volume", file))
		if err != nil || got != want {
			t.Errorf("DecodeReplaceRequest(%s) = %+v, %v, want %+v", file, got, err, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"instanceId":"i-0123456789abcdef0","restoreTo":"latest-snapshot"} {}`,
		`{"detail-type":"x","detail":"not an object"}`, `{"instanceId":"i-0123456789abcdef0","restoreTo":"yesterday"}`} {
		if _, err := DecodeReplaceRequest([]byte(bad)); !errors.Is(err, ErrBadEvent) {
			t.Errorf("DecodeReplaceRequest(%q) = %v, want ErrBadEvent", bad, err)
		}
	}
}

func TestVolumeInitializationRateRange(t *testing.T) {
	tests := []struct {
		name string
		rate int64
		ok   bool
	}{
		{"below", 99, false}, {"lowest", 100, true}, {"highest", 300, true}, {"above", 301, false}, {"negative", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ReplaceRequest{InstanceID: "i-0123456789abcdef0", RestoreTo: RestoreLaunchState, VolumeInitializationRate: &tt.rate}
			err := req.Validate()
			if (err == nil) != tt.ok || err != nil && (!errors.Is(err, ErrBadEvent) || !strings.Contains(err.Error(), "volumeInitializationRate")) {
				t.Errorf("Validate(rate %d) = %v, want ok %v (an error naming volumeInitializationRate)", tt.rate, err, tt.ok)
			}
		})
	}
}

func TestClientTokenIsStablePerRequestAndRootVolume(t *testing.T) {
	a := ClientToken("i-1", "vol-1", "snap-1", false)
	if a != ClientToken("i-1", "vol-1", "snap-1", false) {
		t.Errorf("ClientToken differs for the same request")
	}
	if len(a) > 64 {
		t.Errorf("len(ClientToken) = %d, EC2 allows 64", len(a))
	}
	for _, other := range []string{
		ClientToken("i-1", "vol-2", "snap-1", false), // after a replacement the root differs
		ClientToken("i-1", "vol-1", "", false),
		ClientToken("i-1", "vol-1", "snap-1", true),
	} {
		if other == a {
			t.Errorf("ClientToken is the same for a different request")
		}
	}
}

func TestPlanCleanup(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	old, young := now.Add(-2*time.Hour), now.Add(-10*time.Minute)
	done := now.Add(-25 * time.Hour) // a task that completed before the 24h window
	recent := now.Add(-time.Hour)    // one inside it
	avail := func(id string) VolumeFacts { return VolumeFacts{ID: id, State: "available"} }
	rec := func(vol, task, state string, completed time.Time) Replacement {
		r := Replacement{ID: "replacement#" + vol, ReplacedVolumeID: vol, TaskID: task, State: state, InstanceID: "i-" + vol, Trust: Trusted}
		if !completed.IsZero() {
			r.CompletedAt = &completed
		}
		return r
	}
	// succeeded is EC2's task that replaced vol on i-<vol>.
	succeeded := func(vol string, completed time.Time) TaskFacts {
		return TaskFacts{ID: "task-" + vol, InstanceID: "i-" + vol, State: "succeeded", Completed: completed, SourceVolume: vol}
	}
	marked := func(id, vol, state string, created time.Time) SnapshotFacts {
		return SnapshotFacts{ID: id, VolumeID: vol, Description: SnapshotDescription(vol, "i-1", "/dev/xvda"), State: state, Created: created}
	}
	const gone, live, other = "vol-0000000000000000a", "vol-0000000000000000b", "vol-0000000000000000c"
	in := PlanInput{
		Now: now, MinAge: time.Hour, RetainReplaced: 24 * time.Hour,
		Records: Records{
			Replacements: []Replacement{
				rec("vol-done", "task-vol-done", StateSucceeded, done),
				rec("vol-window", "task-vol-window", StateSucceeded, recent),
				rec("vol-kept", "task-vol-kept", StateSucceeded, done),
				rec("vol-refused", "", StateRefused, time.Time{}),
				rec("vol-fails", "task-fails", StateStarted, time.Time{}),
				rec("vol-running", "task-running", StateStarted, time.Time{}),
				rec("vol-now-done", "task-done", StateStarted, time.Time{}),
				rec("vol-attached", "task-vol-attached", StateSucceeded, done),
				rec("vol-root", "task-vol-root", StateSucceeded, done),
				rec("vol-gone", "task-vol-gone", StateSucceeded, done),
				// A record that says succeeded, but EC2 does not list its task.
				rec("vol-unconfirmed", "task-forgotten", StateSucceeded, done),
				// One whose task EC2 lists for another instance, and one
				// whose task names another volume.
				rec("vol-other-instance", "task-vol-x", StateSucceeded, done),
				rec("vol-other-volume", "task-vol-y", StateSucceeded, done),
				// The answer was lost: kept until a task is found.
				rec("vol-lost", "", StateUnknown, time.Time{}),
				// A forged record (no MAC), and a tampered one.
				func() Replacement {
					r := rec("vol-unsealed", "task-vol-unsealed", StateSucceeded, done)
					r.Trust = Unsealed
					return r
				}(),
				func() Replacement {
					r := rec("vol-tampered", "task-vol-tampered", StateSucceeded, done)
					r.Trust = Tampered
					return r
				}(),
			},
			Roots: []RootObservation{
				{ID: "root#vol-ext-old", InstanceID: "i-ext", VolumeID: "vol-ext-old", VolumeCreated: now.Add(-100 * time.Hour), ObservedAt: now.Add(-99 * time.Hour), Trust: Trusted},
				{ID: "root#vol-ext-older", InstanceID: "i-ext", VolumeID: "vol-ext-older", VolumeCreated: now.Add(-200 * time.Hour), ObservedAt: now.Add(-199 * time.Hour), Trust: Trusted},
				{ID: "root#vol-ext-new", InstanceID: "i-ext", VolumeID: "vol-ext-new", VolumeCreated: now.Add(-29 * time.Hour), ObservedAt: now.Add(-29 * time.Hour), Trust: Trusted},
			},
		},
		Tasks: map[string]TaskFacts{
			"task-fails":        {ID: "task-fails", InstanceID: "i-vol-fails", State: "failed-detached", Completed: done},
			"task-running":      {ID: "task-running", InstanceID: "i-vol-running", State: "in-progress"},
			"task-done":         {ID: "task-done", InstanceID: "i-vol-now-done", State: "succeeded", Completed: done},
			"task-ext":          {ID: "task-ext", InstanceID: "i-ext", State: "succeeded", Started: now.Add(-30 * time.Hour), Completed: done},
			"task-vol-done":     succeeded("vol-done", done),
			"task-vol-window":   succeeded("vol-window", recent),
			"task-vol-kept":     succeeded("vol-kept", done),
			"task-vol-attached": succeeded("vol-attached", done),
			"task-vol-root":     succeeded("vol-root", done),
			"task-vol-gone":     succeeded("vol-gone", done),
			"task-vol-x":        {ID: "task-vol-x", InstanceID: "i-elsewhere", State: "succeeded", Completed: done},
			"task-vol-y":        {ID: "task-vol-y", InstanceID: "i-vol-other-volume", State: "succeeded", Completed: done, SourceVolume: "vol-else"},
			"task-vol-unsealed": succeeded("vol-unsealed", done),
			"task-vol-tampered": succeeded("vol-tampered", done),
		},
		Volumes: map[string]VolumeFacts{
			"vol-done":           avail("vol-done"),
			"vol-window":         avail("vol-window"),
			"vol-kept":           {ID: "vol-kept", State: "available", Keep: true},
			"vol-refused":        avail("vol-refused"),
			"vol-fails":          {ID: "vol-fails", State: "available", Labelled: true},
			"vol-running":        {ID: "vol-running", State: "in-use", Attached: true},
			"vol-now-done":       {ID: "vol-now-done", State: "available", Labelled: true},
			"vol-attached":       {ID: "vol-attached", State: "in-use", Attached: true},
			"vol-root":           avail("vol-root"),
			"vol-ext-old":        avail("vol-ext-old"),
			"vol-forged":         {ID: "vol-forged", State: "available", Labelled: true},
			"vol-unconfirmed":    avail("vol-unconfirmed"),
			"vol-other-instance": avail("vol-other-instance"),
			"vol-other-volume":   avail("vol-other-volume"),
			"vol-lost":           avail("vol-lost"),
			"vol-unsealed":       {ID: "vol-unsealed", State: "available", Labelled: true},
			"vol-tampered":       avail("vol-tampered"),
		},
		Roots: map[string]string{"vol-root": "i-9"},
		Snapshots: []SnapshotFacts{
			marked("snap-orphan", gone, "completed", old),
			marked("snap-live", live, "completed", old),
			marked("snap-ami", gone, "completed", old),
			marked("snap-pending", gone, "pending", old),
			marked("snap-young", gone, "completed", young),
			{ID: "snap-forged", VolumeID: gone, Description: "nightly backup", State: "completed", Created: old},
			{ID: "snap-lying", VolumeID: other, Description: SnapshotDescription(gone, "i-1", "/dev/xvda"), State: "completed", Created: old},
			{ID: "snap-keep", VolumeID: gone, Description: SnapshotDescription(gone, "i-1", "/dev/xvda"), State: "completed", Created: old, Keep: true},
		},
		ExistingVolumes: map[string]bool{live: true},
		AMISnapshots:    map[string]string{"snap-ami": "ami-1"},
		RetainOrphaned:  time.Hour,
	}
	// snap-orphan was first seen orphaned long ago; snap-newly-orphaned
	// is seen so now; a forged orphan record does not shorten the wait.
	in.Snapshots = append(in.Snapshots, marked("snap-newly-orphaned", gone, "completed", old), marked("snap-forged-orphan", gone, "completed", old))
	in.Records.Orphans = []Orphan{
		{ID: "orphan#snap-orphan", SnapshotID: "snap-orphan", VolumeID: gone, FirstSeen: now.Add(-2 * time.Hour), Trust: Trusted},
		{ID: "orphan#snap-forged-orphan", SnapshotID: "snap-forged-orphan", VolumeID: gone, FirstSeen: now.Add(-300 * time.Hour), Trust: Tampered},
	}
	window := recent.Add(24 * time.Hour).Format(time.RFC3339)
	doneAt := done
	want := Plan{
		Volumes:   []string{"vol-done", "vol-now-done"},
		Snapshots: []string{"snap-orphan"},
		Label:     []string{"vol-done"},
		Unlabel:   []string{"vol-fails"},
		Records: []Replacement{
			{ID: "replacement#vol-fails", ReplacedVolumeID: "vol-fails", TaskID: "task-fails", InstanceID: "i-vol-fails",
				State: StateFailed, Reason: "EC2 reports the task failed-detached", CompletedAt: &doneAt, UpdatedAt: now, Trust: Trusted},
			{ID: "replacement#vol-now-done", ReplacedVolumeID: "vol-now-done", TaskID: "task-done", InstanceID: "i-vol-now-done",
				State: StateSucceeded, Reason: "EC2 reports the task succeeded", CompletedAt: &doneAt, UpdatedAt: now, Trust: Trusted},
		},
		Rollbacks: []Rollback{{VolumeID: "vol-root", TaskID: "task-vol-root", InstanceID: "i-9", SeenAt: now}},
		Orphans: []Orphan{
			{SnapshotID: "snap-newly-orphaned", VolumeID: gone, FirstSeen: now},
			{SnapshotID: "snap-forged-orphan", VolumeID: gone, FirstSeen: now},
		},
		Untrusted: []UntrustedRecord{
			{ID: "replacement#vol-unsealed", Kind: KindReplacement, Trust: "unsealed", Names: "vol-unsealed"},
			{ID: "replacement#vol-tampered", Kind: KindReplacement, Trust: "tampered", Names: "vol-tampered"},
			{ID: "orphan#snap-forged-orphan", Kind: KindOrphan, Trust: "tampered", Names: "snap-forged-orphan"},
		},
		Skipped: []Skip{
			{"vol-window", KindVolume, ReasonRollbackWindow, "until " + window},
			{"vol-kept", KindVolume, ReasonKeepTag, ""},
			{"vol-refused", KindVolume, ReasonTaskRefused, ""},
			{"vol-fails", KindVolume, ReasonTaskFailed, ""},
			{"vol-running", KindVolume, ReasonTaskNotDone, "(record started)"},
			{"vol-attached", KindVolume, ReasonAttached, ""},
			{"vol-root", KindVolume, ReasonIsRoot, "(i-9)"},
			{"vol-ext-old", KindVolume, ReasonExternal, ""},
			{"vol-forged", KindVolume, ReasonUnrecorded, ""},
			{"vol-unconfirmed", KindVolume, ReasonTaskUnconfirmed, ""},
			{"vol-other-instance", KindVolume, ReasonTaskUnconfirmed, ""},
			{"vol-other-volume", KindVolume, ReasonTaskUnconfirmed, ""},
			{"vol-lost", KindVolume, ReasonAnswerLost, ""},
			{"vol-unsealed", KindVolume, ReasonUnsealed, ""},
			{"vol-tampered", KindVolume, ReasonTampered, ""},
			{"snap-newly-orphaned", KindSnapshot, ReasonOrphanGrace, "until " + now.Add(time.Hour).Format(time.RFC3339)},
			{"snap-forged-orphan", KindSnapshot, ReasonOrphanGrace, "until " + now.Add(time.Hour).Format(time.RFC3339)},
			{"snap-live", KindSnapshot, ReasonSourceExists, ""},
			{"snap-ami", KindSnapshot, ReasonBacksAMI, "(ami-1)"},
			{"snap-pending", KindSnapshot, ReasonNotCompleted, ""},
			{"snap-young", KindSnapshot, ReasonTooYoung, ""},
			{"snap-forged", KindSnapshot, ReasonUnmarked, ""},
			{"snap-lying", KindSnapshot, ReasonMarkMismatch, ""},
			{"snap-keep", KindSnapshot, ReasonKeepTag, ""},
		},
	}
	// Order follows the records' and tasks' order, which the test does not pin.
	anyOrder := cmp.Options{
		cmpopts.SortSlices(func(a, b Skip) bool { return a.Kind+a.ID < b.Kind+b.ID }),
		cmpopts.SortSlices(func(a, b string) bool { return a < b }),
		cmpopts.SortSlices(func(a, b UntrustedRecord) bool { return a.ID < b.ID }),
	}
	if diff := cmp.Diff(want, PlanCleanup(in), anyOrder); diff != "" {
		t.Errorf("PlanCleanup (-want +got):\n%s", diff)
	}

	// Adopting external replacements: the root the instance had when the
	// task started (the newest recorded before it) goes after the window.
	in.AdoptExternal = true
	got := PlanCleanup(in)
	if !slices.Contains(got.Volumes, "vol-ext-old") || !slices.Contains(got.Label, "vol-ext-old") {
		t.Errorf("PlanCleanup(adopt) volumes = %v, label %v, want vol-ext-old in both", got.Volumes, got.Label)
	}

	// The Recycle Bin: unreadable keeps every snapshot; an AMI that
	// entered it after a snapshot was made may hold that snapshot.
	in.RecycleBinUnread = "UnauthorizedOperation"
	if got := PlanCleanup(in); len(got.Snapshots) != 0 {
		t.Errorf("PlanCleanup(Recycle Bin unread) snapshots = %v, want none", got.Snapshots)
	}
	in.RecycleBinUnread = ""
	in.RecycleBin = []RecycledAMI{{ID: "ami-before", Entered: old.Add(-time.Minute)}}
	if got := PlanCleanup(in); !slices.Contains(got.Snapshots, "snap-orphan") {
		t.Errorf("PlanCleanup(AMI binned before the snapshot) snapshots = %v, want snap-orphan", got.Snapshots)
	}
	in.RecycleBin = append(in.RecycleBin, RecycledAMI{ID: "ami-after", Entered: old.Add(time.Minute)})
	if got := PlanCleanup(in); len(got.Snapshots) != 0 {
		t.Errorf("PlanCleanup(AMI binned after the snapshot) snapshots = %v, want none", got.Snapshots)
	}
}

// TestPinnedRoot: an external task's old root is named only from facts
// that pin it (finding 9): the newest trusted root record of the instance
// made before the task started, with no later record of another root that
// existed before the start, and no other task in between.
func TestPinnedRoot(t *testing.T) {
	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	obs := func(vol string, created, observed time.Duration) RootObservation {
		return RootObservation{ID: "root#" + vol, InstanceID: "i-1", VolumeID: vol, VolumeCreated: start.Add(created), ObservedAt: start.Add(observed), Trust: Trusted}
	}
	task := TaskFacts{ID: "task-ext", InstanceID: "i-1", State: "succeeded", Started: start, Completed: start.Add(5 * time.Minute)}
	tests := []struct {
		name      string
		roots     []RootObservation
		others    []TaskFacts
		want      string
		wantDoubt string
	}{
		{name: "the root recorded before the start", roots: []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour)}, want: "vol-a"},
		{name: "the newest of two, by when it was recorded",
			roots: []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour), obs("vol-b", -200*time.Hour, -50*time.Hour)}, want: "vol-b"},
		// The old rule (newest created before the start) named vol-a here:
		// a volume the task never touched.
		{name: "a root swapped in later, created earlier",
			roots: []RootObservation{obs("vol-a", -10*time.Hour, -9*time.Hour), obs("vol-b", -300*time.Hour, -2*time.Hour)}, want: "vol-b"},
		{name: "another root, existing before the start, recorded after it",
			roots:     []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour), obs("vol-b", -300*time.Hour, time.Hour)},
			wantDoubt: "vol-a"},
		{name: "another task changed the root since the record",
			roots:     []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour)},
			others:    []TaskFacts{{ID: "task-between", InstanceID: "i-1", State: "succeeded", Started: start.Add(-10 * time.Hour), Completed: start.Add(-9 * time.Hour)}},
			wantDoubt: "vol-a"},
		{name: "an earlier task, done before the record", roots: []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour)},
			others: []TaskFacts{{ID: "task-before", InstanceID: "i-1", State: "succeeded", Started: start.Add(-200 * time.Hour), Completed: start.Add(-199 * time.Hour)}},
			want:   "vol-a"},
		{name: "two roots recorded at once",
			roots:     []RootObservation{obs("vol-a", -100*time.Hour, -99*time.Hour), obs("vol-b", -100*time.Hour, -99*time.Hour)},
			wantDoubt: "vol-b"},
		{name: "only a record after the start", roots: []RootObservation{obs("vol-new", time.Minute, time.Hour)}},
		{name: "a root record that does not verify", roots: []RootObservation{func() RootObservation {
			o := obs("vol-a", -100*time.Hour, -99*time.Hour)
			o.Trust = Tampered
			return o
		}()}, wantDoubt: "vol-a"},
		{name: "no record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks := map[string]TaskFacts{task.ID: task}
			for _, o := range tt.others {
				tasks[o.ID] = o
			}
			got, doubt, why := PinnedRoot(tt.roots, tasks, task)
			if got != tt.want || (tt.wantDoubt != "" && doubt == "") || (tt.want == "" && why == "") {
				t.Errorf("PinnedRoot = %q (doubt %q: %s), want %q (doubt %q)", got, doubt, why, tt.want, tt.wantDoubt)
			}
		})
	}
}

// TestMatchTask: a lost answer's task is found by what the suite gave it
// (instance, volume tag, creator tag, start after the record), and only
// when exactly one task fits.
func TestMatchTask(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rec := Replacement{InstanceID: "i-1", ReplacedVolumeID: "vol-1", RequestedAt: at}
	mine := TaskFacts{ID: "t-1", InstanceID: "i-1", SourceVolume: "vol-1", CreatedBy: ReplaceCreatedBy, Started: at.Add(time.Second)}
	tests := []struct {
		name  string
		tasks []TaskFacts
		want  string
	}{
		{"the suite's task", []TaskFacts{mine}, "t-1"},
		{"an external task", []TaskFacts{{ID: "t-2", InstanceID: "i-1", Started: at.Add(time.Second)}}, ""},
		{"a task from before the request", []TaskFacts{func() TaskFacts { x := mine; x.Started = at.Add(-time.Hour); return x }()}, ""},
		{"another volume's", []TaskFacts{func() TaskFacts { x := mine; x.SourceVolume = "vol-2"; return x }()}, ""},
		{"two that fit", []TaskFacts{mine, func() TaskFacts { x := mine; x.ID = "t-3"; return x }()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchTask(rec, tt.tasks)
			if got.ID != tt.want || ok != (tt.want != "") {
				t.Errorf("MatchTask = %q, %v, want %q", got.ID, ok, tt.want)
			}
		})
	}
}

func TestMarkedVolume(t *testing.T) {
	tests := []struct {
		desc   string
		want   string
		wantOK bool
	}{
		{SnapshotDescription("vol-0123456789abcdef0", "i-1", "/dev/xvda"), "vol-0123456789abcdef0", true},
		{"Root volume vol-0123456789abcdef0 of i-1 (/dev/xvda), kept so …", "", false}, // a description without the marker
		{SnapshotMarker + " vol-x: forged", "", false},
		{"backup " + SnapshotMarker + " vol-0123456789abcdef0: inside", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := MarkedVolume(tt.desc)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("MarkedVolume(%q) = %q, %v, want %q, %v", tt.desc, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestPlanCleanupKeepsLockedAndBackupSnapshots(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	until := now.Add(30 * 24 * time.Hour)
	snap := func(id string) SnapshotFacts {
		return SnapshotFacts{ID: id, VolumeID: "vol-0000000000000000a", State: "completed", Created: now.Add(-2 * time.Hour),
			Description: SnapshotDescription("vol-0000000000000000a", "i-1", "/dev/xvda")}
	}
	backup := snap("snap-backup")
	backup.Description, backup.BackupSource = "This snapshot is created by the AWS Backup service", "arn:aws:ec2:us-east-1:123456789012:volume/vol-0000000000000000a"
	in := PlanInput{
		Now: now, MinAge: time.Hour,
		Snapshots: []SnapshotFacts{snap("snap-compliance"), snap("snap-cooloff"), snap("snap-governance"), snap("snap-expired"), snap("snap-free"), backup},
		Locks: map[string]SnapshotLock{
			"snap-compliance": {State: "compliance", Expires: until},
			"snap-cooloff":    {State: "compliance-cooloff", Expires: until},
			"snap-governance": {State: "governance", Expires: until},
			"snap-expired":    {State: "expired", Expires: now.Add(-time.Hour)},
		},
	}
	got := PlanCleanup(in)
	if want := []string{"snap-expired", "snap-free"}; !cmp.Equal(got.Snapshots, want) {
		t.Errorf("PlanCleanup snapshots = %v, want %v", got.Snapshots, want)
	}
	wantText := map[string]string{
		"snap-compliance": "locked until 2026-12-20T12:00:00Z (compliance mode: no one can unlock it)",
		"snap-cooloff":    "locked until 2026-12-20T12:00:00Z (compliance mode, in its cooling-off period)",
		"snap-governance": "locked until 2026-12-20T12:00:00Z (governance mode: a user with ec2:UnlockSnapshot can unlock it)",
		"snap-backup":     string(ReasonBackupManaged) + " (" + backup.BackupSource + ")",
	}
	for _, s := range got.Skipped {
		if s.Text() != wantText[s.ID] {
			t.Errorf("kept %s because %q, want %q", s.ID, s.Text(), wantText[s.ID])
		}
		if s.Reason.Refusal() {
			t.Errorf("kept %s for %q, a refusal; want a reason no one needs to be told of", s.ID, s.Reason)
		}
	}
	if len(got.Skipped) != len(wantText) {
		t.Errorf("kept %+v, want the %d locked or Backup-managed snapshots", got.Skipped, len(wantText))
	}

	// Locks that cannot be read keep every snapshot: a lock is not ruled out.
	in.Locks, in.LocksUnread = nil, "AccessDenied"
	if got := PlanCleanup(in); len(got.Snapshots) != 0 {
		t.Errorf("PlanCleanup(locks unread) snapshots = %v, want none", got.Snapshots)
	}
}

func TestParsePrices(t *testing.T) {
	got, err := ParsePrices("gp3=0.0952, snapshot=0.0595")
	if err != nil || got.Volume["gp3"] != 0.0952 || got.Snapshot != 0.0595 || got.Volume["gp2"] != DefaultPrices.Volume["gp2"] ||
		!strings.Contains(got.Source, "RECLAIM_PRICES (gp3, snapshot)") {
		t.Errorf("ParsePrices = %+v, %v, want gp3 and snapshot overridden, the rest kept, the source said", got, err)
	}
	if DefaultPrices.Volume["gp3"] != 0.08 {
		t.Errorf("ParsePrices changed DefaultPrices: gp3 = %v", DefaultPrices.Volume["gp3"])
	}
	for _, bad := range []string{"gp9=0.1", "gp3", "gp3=-1", "gp3=cheap", "snapshot=1000"} {
		if _, err := ParsePrices(bad); err == nil {
			t.Errorf("ParsePrices(%q) = nil error, want one", bad)
		}
	}
}
