package rootvolume

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func seedFromEvents(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		all := sample.All(f, dir)
		for _, name := range slices.Sorted(maps.Keys(all)) {
			f.Add(all[name])
		}
	}
}

func FuzzDecodeVolumeEvent(f *testing.F) {
	seedFromEvents(f, "snapshot-on-volume-create", "root-volume-cleanup")
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := DecodeVolumeEvent(raw)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if !awsid.IsVolumeID(ev.VolumeID) {
			t.Fatalf("accepted volume ID %q", ev.VolumeID)
		}
	})
}

func FuzzDecodeReplaceRequest(f *testing.F) {
	seedFromEvents(f, "replace-root-volume")
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := DecodeReplaceRequest(raw)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if req.Validate() != nil {
			t.Fatalf("accepted an invalid request %+v", req)
		}
	})
}

func FuzzDecodeSnapshotNow(f *testing.F) {
	seedFromEvents(f, "snapshot-on-volume-create", "replace-root-volume")
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, err := DecodeSnapshotNow(raw)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if !awsid.IsInstanceID(id) {
			t.Fatalf("accepted instance ID %q", id)
		}
	})
}
