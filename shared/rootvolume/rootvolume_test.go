package rootvolume

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awstest"
	"github.com/google/go-cmp/cmp"
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
	b, err := os.ReadFile(filepath.Join("..", "..", "events", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	in := PlanInput{
		Now: now, MinAge: time.Hour,
		Volumes: []Candidate{
			{ID: "vol-del", Created: old, State: "available", Tagged: true},
			{ID: "vol-attached", Created: old, State: "available", Attached: true, Tagged: true},
			{ID: "vol-inuse", Created: old, State: "in-use", Tagged: true},
			{ID: "vol-young", Created: young, State: "available", Tagged: true},
			{ID: "vol-untagged", Created: old, State: "available"},
			{ID: "vol-notime", State: "available", Tagged: true},
		},
		Snapshots: []Candidate{
			{ID: "snap-orphan", Created: old, State: "completed", VolumeID: "vol-gone", Tagged: true},
			{ID: "snap-live", Created: old, State: "completed", VolumeID: "vol-live", Tagged: true},
			{ID: "snap-ami", Created: old, State: "completed", VolumeID: "vol-gone", Tagged: true},
			{ID: "snap-pending", Created: old, State: "pending", VolumeID: "vol-gone", Tagged: true},
			{ID: "snap-young", Created: young, State: "completed", VolumeID: "vol-gone", Tagged: true},
			{ID: "snap-untagged", Created: old, State: "completed", VolumeID: "vol-gone"},
			{ID: "snap-novolume", Created: old, State: "completed", Tagged: true},
		},
		ExistingVolumes: map[string]bool{"vol-live": true},
		AMISnapshots:    map[string]string{"snap-ami": "ami-1"},
	}
	want := Plan{
		Volumes:   []string{"vol-del"},
		Snapshots: []string{"snap-orphan"},
		Skipped: []Skip{
			{"vol-attached", KindVolume, ReasonAttached},
			{"vol-inuse", KindVolume, ReasonNotAvailable},
			{"vol-young", KindVolume, ReasonTooYoung},
			{"vol-untagged", KindVolume, ReasonNotTagged},
			{"vol-notime", KindVolume, ReasonTooYoung},
			{"snap-live", KindSnapshot, ReasonSourceExists},
			{"snap-ami", KindSnapshot, ReasonBacksAMI + " (ami-1)"},
			{"snap-pending", KindSnapshot, ReasonNotCompleted},
			{"snap-young", KindSnapshot, ReasonTooYoung},
			{"snap-untagged", KindSnapshot, ReasonNotTagged},
			{"snap-novolume", KindSnapshot, ReasonSourceExists},
		},
	}
	if diff := cmp.Diff(want, PlanCleanup(in)); diff != "" {
		t.Errorf("PlanCleanup (-want +got):\n%s", diff)
	}
}
