package rootvolume

import (
	"fmt"
	"strconv"
	"time"
)

// The Recycle Bin keeps what the cleanup deletes, if the stack's tag-level
// retention rules match it (AWS::Rbin::Rule: EBS_SNAPSHOT on SNAPSHOT_TAG,
// EBS_VOLUME on DELETE_VOLUME_TAG, which every volume the cleanup deletes
// carries). Snapshots may be kept 1-365 days, volumes 1-7 (Recycle Bin API
// reference, RetentionPeriod:
// https://docs.aws.amazon.com/recyclebin/latest/APIReference/API_RetentionPeriod.html).
// CloudFormation's AWS::Rbin::Rule takes EBS_VOLUME as well as
// EBS_SNAPSHOT and EC2_IMAGE (its ResourceType, as the pinned CDK's
// awsrbin.CfnRuleProps documents it; cfn-lint 1.51.0 accepts it).
const (
	DefaultRecycleBinDays = 7
	MaxRecycleBinDays     = 365
	// RecycleBinVolumeDays is how long the stack's rule keeps a deleted
	// volume: the most the Recycle Bin allows for volumes.
	RecycleBinVolumeDays = 7
)

// ParseRecycleBinDays reads RECYCLE_BIN_DAYS: a whole number of days from
// 0 (no rule) to MaxRecycleBinDays.
func ParseRecycleBinDays(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxRecycleBinDays {
		return 0, fmt.Errorf("%q is not a whole number of days from 0 (no Recycle Bin rule) to %d", s, MaxRecycleBinDays)
	}
	return n, nil
}

// Restorable is a deleted resource and until when the Recycle Bin can give
// it back.
type Restorable struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"`
	Until time.Time `json:"until"`
}

// Text says it as the notification does.
func (r Restorable) Text() string {
	return fmt.Sprintf("%s %s (restorable from the Recycle Bin until %s)", r.Kind, r.ID, r.Until.UTC().Format(time.RFC3339))
}

// restorable is what the Recycle Bin keeps of the resources deleted at
// at: snapshots for snapshotDays, volumes for RecycleBinVolumeDays; none
// when snapshotDays is 0 (no rule).
func restorable(volumes, snapshots []string, at time.Time, snapshotDays int) []Restorable {
	out := []Restorable{}
	if snapshotDays <= 0 {
		return out
	}
	volumeDays := RecycleBinVolumeDays
	for _, id := range volumes {
		out = append(out, Restorable{ID: id, Kind: KindVolume, Until: at.Add(time.Duration(volumeDays) * 24 * time.Hour).UTC()})
	}
	for _, id := range snapshots {
		out = append(out, Restorable{ID: id, Kind: KindSnapshot, Until: at.Add(time.Duration(snapshotDays) * 24 * time.Hour).UTC()})
	}
	return out
}
