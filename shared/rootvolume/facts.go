package rootvolume

import "time"

// VolumeFacts is what EC2 says of a volume the cleanup considers.
type VolumeFacts struct {
	ID       string
	State    string
	Attached bool
	Labelled bool // carries DELETE_VOLUME_TAG
	Keep     bool // carries KEEP_TAG
	// Type and SizeGiB are EC2's VolumeType and Size, for the reclaim.
	Type    string
	SizeGiB int32
}

// TaskFacts is what DescribeReplaceRootVolumeTasks says of a task. EC2's
// ReplaceRootVolumeTask names neither the replaced volume nor the client
// token (API reference, "ReplaceRootVolumeTask"); SourceVolume and
// CreatedBy are the tags the suite gives its tasks at creation, so
// "where EC2 says so" is where the task carries them.
type TaskFacts struct {
	ID, InstanceID, State   string
	Started, Completed      time.Time
	SourceVolume, CreatedBy string
}

// SnapshotFacts is what EC2 says of a snapshot carrying SNAPSHOT_TAG.
type SnapshotFacts struct {
	ID, VolumeID, Description, State string
	Created                          time.Time
	Keep                             bool
	// VolumeSizeGiB is EC2's VolumeSize: the size of the source volume,
	// an upper bound of what the (incremental) snapshot holds.
	VolumeSizeGiB int32
	// BackupSource is the snapshot's aws:backup:source-resource tag: AWS
	// Backup made it, and its lifecycle is Backup's (see BackupSourceTag).
	BackupSource string
}

// SnapshotLock is what DescribeLockedSnapshots says of a snapshot's lock
// (LockSnapshot): its state and when it ends.
type SnapshotLock struct {
	// State is EC2's lockState: compliance-cooloff, governance, compliance
	// or expired (only expired allows a delete).
	State   string
	Expires time.Time // zero when EC2 gives no end
}

// RecycledAMI is an AMI in the Recycle Bin: EC2 lists it without its
// block-device mappings, so which snapshots it holds cannot be seen.
type RecycledAMI struct {
	ID      string
	Entered time.Time
}

// PlanInput is everything a cleanup decision rests on.
type PlanInput struct {
	Now            time.Time
	MinAge         time.Duration
	RetainReplaced time.Duration
	// RetainOrphaned is how long a suite snapshot is kept after it was
	// first seen orphaned.
	RetainOrphaned time.Duration
	AdoptExternal  bool
	Records        Records
	Tasks          map[string]TaskFacts
	// Volumes holds the volumes named by a record, by an external task's
	// root history, or by the label, that still exist.
	Volumes map[string]VolumeFacts
	// Roots maps a volume to the instance whose root volume it is now.
	Roots           map[string]string
	Snapshots       []SnapshotFacts
	ExistingVolumes map[string]bool   // snapshots' source volumes that still exist
	AMISnapshots    map[string]string // snapshot ID → an AMI it backs
	RecycleBin      []RecycledAMI
	// RecycleBinUnread says why the Recycle Bin could not be read; then
	// every snapshot is kept.
	RecycleBinUnread string
	// Locks holds the snapshots locked against deletion, by snapshot ID.
	Locks map[string]SnapshotLock
	// LocksUnread says why the locks could not be read; then every
	// snapshot is kept.
	LocksUnread string
}
