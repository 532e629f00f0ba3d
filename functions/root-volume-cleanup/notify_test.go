package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/notifytest"
)

// notifying is the cleanup with the notification topic, publishing under
// the cleanup's role, and the topic's inbox.
func (f fixture) notifying(t *testing.T, mod ...func(*rootvolume.Cleaner)) (*handler, *approvaltest.Inbox) {
	t.Helper()
	h := f.cleaner(mod...)
	topicARN, inbox := f.inbox(t)
	h.notify = &notify.Notifier{SNS: sns.NewFromConfig(f.fnCfg), TopicARN: topicARN, Log: h.log}
	return h, inbox
}

func TestCleanupTellsWhatItDeleted(t *testing.T) {
	f := newFixture(t)
	inst, oldRoot := f.instance(t, "web")
	f.replace(t, inst)
	f.advance(t, 10*time.Minute)
	h, inbox := f.notifying(t)

	// Inside the rollback window nothing is deleted or refused: no message.
	f.run(t, h)
	notifytest.CheckNone(t, inbox)

	f.advance(t, 24*time.Hour)
	dry, dryInbox := f.notifying(t, func(c *rootvolume.Cleaner) { c.DryRun = true })
	if sum := f.run(t, dry); len(sum.VolumesToDelete) != 1 {
		t.Fatalf("dry run to delete %v, want the old root", sum.VolumesToDelete)
	}
	notifytest.CheckNone(t, dryInbox)

	sum := f.run(t, h)
	if len(sum.VolumesDeleted) != 1 {
		t.Fatalf("deleted %v, want the old root", sum.VolumesDeleted)
	}
	notifytest.CheckOne(t, inbox, "Root-volume cleanup: deleted 1", "volume "+oldRoot)

	// The next run has nothing to tell.
	f.run(t, h)
	notifytest.CheckNone(t, inbox)
}

func TestCleanupTellsWhatItRefused(t *testing.T) {
	f := newFixture(t)
	forged := awstest.CreateVolume(t, f.ec2, deleteTag)
	gone := awstest.CreateVolume(t, f.ec2)
	backup, err := f.ec2.CreateSnapshot(context.Background(), &ec2.CreateSnapshotInput{VolumeId: aws.String(gone), Description: aws.String("nightly backup")})
	if err != nil {
		t.Fatal(err)
	}
	backupID := aws.ToString(backup.SnapshotId)
	f.tag(t, backupID, snapshotTag)
	if _, err := f.ec2.DeleteVolume(context.Background(), &ec2.DeleteVolumeInput{VolumeId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, 1000*time.Hour)

	h, inbox := f.notifying(t, func(c *rootvolume.Cleaner) { c.MinAge = 0 })
	f.run(t, h)
	notifytest.CheckOne(t, inbox, "Root-volume cleanup: refused 2",
		"volume "+forged+": "+string(rootvolume.ReasonUnrecorded), "snapshot "+backupID+": "+string(rootvolume.ReasonUnmarked), "What to do about a refusal")
	if !exists(t, f.ec2, "volume", forged) || !exists(t, f.ec2, "snapshot", backupID) {
		t.Errorf("a refused resource was deleted")
	}
}

func TestCleanupConfigTopic(t *testing.T) {
	base := map[string]string{"REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey}
	for topic, ok := range map[string]bool{"": true, "arn:aws:sns:us-east-1:123456789012:cleanup": true, "cleanup": false} {
		base["NOTIFY_TOPIC_ARN"] = topic
		cfg, err := loadConfig(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "NOTIFY_TOPIC_ARN")) || (ok && cfg.NotifyTopicARN != topic) {
			t.Errorf("loadConfig(NOTIFY_TOPIC_ARN=%q) = %+v, %v, want ok %t", topic, cfg.NotifyTopicARN, err, ok)
		}
	}
}

// TestRefusalsAreToldOnceADay: a refusal stays until a person resolves it,
// and the cleanup runs every hour. People hear of each refused resource
// when it is first refused, when its reason changes, and once a day while
// it stays; the runs in between tell nothing new.
func TestRefusalsAreToldOnceADay(t *testing.T) {
	f := newFixture(t)
	first := awstest.CreateVolume(t, f.ec2, deleteTag)
	f.advance(t, 2*time.Hour)
	h, inbox := f.notifying(t, func(c *rootvolume.Cleaner) { c.MinAge = 0 })

	f.run(t, h)
	notifytest.CheckOne(t, inbox, "Root-volume cleanup: refused 1", "volume "+first+": "+string(rootvolume.ReasonUnrecorded))

	f.advance(t, time.Hour)
	f.run(t, h)
	notifytest.CheckNone(t, inbox)

	second := awstest.CreateVolume(t, f.ec2, deleteTag)
	f.advance(t, time.Hour)
	f.run(t, h)
	msgs := inbox.Receive(t)
	if len(msgs) != 1 || msgs[0].Subject != "Root-volume cleanup: refused 1" || !strings.Contains(msgs[0].Body, second) ||
		strings.Contains(msgs[0].Body, first) || !strings.Contains(msgs[0].Body, "1 more refused resource was told within the last day") {
		t.Errorf("after a second refusal: %+v, want one message naming only %s, and that one more is still refused", msgs, second)
	}

	f.advance(t, 23*time.Hour) // a day after the first was told
	f.run(t, h)
	msgs = inbox.Receive(t)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, first) || strings.Contains(msgs[0].Body, "volume "+second) {
		t.Errorf("a day later: %+v, want a reminder of %s only (%s was told 22 hours ago)", msgs, first, second)
	}
}

// TestRefusalToldAgainWhenItsReasonChanges: a refusal told an hour ago is
// told again at once if it is now refused for another reason.
func TestRefusalToldAgainWhenItsReasonChanges(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	told := map[string]rootvolume.Notice{"vol-0123456789abcdef0": {ResourceID: "vol-0123456789abcdef0", Reason: string(rootvolume.ReasonUnrecorded), ToldAt: now.Add(-time.Hour), Trust: rootvolume.Trusted}}
	sum := func(reason rootvolume.Reason) rootvolume.CleanupSummary {
		return rootvolume.CleanupSummary{Notices: told, Skipped: []rootvolume.Skip{{ID: "vol-0123456789abcdef0", Kind: rootvolume.KindVolume, Reason: reason}}}
	}
	if _, _, ok := cleanupMessage(sum(rootvolume.ReasonUnrecorded), now); ok {
		t.Errorf("the same refusal an hour later: a message, want none")
	}
	// A notice whose MAC does not verify (forged, to silence the refusal),
	// or one dated in the future, silences nothing.
	for _, forged := range []rootvolume.Notice{
		{ResourceID: "vol-0123456789abcdef0", Reason: string(rootvolume.ReasonUnrecorded), ToldAt: now.Add(-time.Hour), Trust: rootvolume.Unsealed},
		{ResourceID: "vol-0123456789abcdef0", Reason: string(rootvolume.ReasonUnrecorded), ToldAt: now.Add(365 * 24 * time.Hour), Trust: rootvolume.Trusted},
	} {
		s := sum(rootvolume.ReasonUnrecorded)
		s.Notices = map[string]rootvolume.Notice{"vol-0123456789abcdef0": forged}
		if _, _, ok := cleanupMessage(s, now); !ok {
			t.Errorf("notice %+v silenced the refusal", forged)
		}
	}
	m, notices, ok := cleanupMessage(sum(rootvolume.ReasonAttached), now)
	if !ok || !strings.Contains(m.Body, string(rootvolume.ReasonAttached)) || len(notices) != 1 || notices[0].Reason != string(rootvolume.ReasonAttached) || !notices[0].ToldAt.Equal(now) {
		t.Errorf("a new reason: %+v, notices %+v, want it told and recorded", m, notices)
	}
}
