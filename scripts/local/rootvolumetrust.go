package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

// rootVolumeTrustScenario is issue 18's root-volume part: what an insider
// with adjacent rights (DynamoDB write, ec2:CreateTags, events:PutEvents)
// can no longer turn into a delete or a reset, and a rolled-back root.
var rootVolumeTrustScenario = scenario{
	name:      "root-volume-trust",
	about:     "a forged replacement record and a tag plus PutEvents reset are refused; a rolled-back root survives its next detach",
	functions: []string{"replace-root-volume", "root-volume-cleanup"},
	run:       rootVolumeTrust,
}

// rootVolumeBus is the name the scenario gives the stack's bus in moto.
const rootVolumeBus = "lambda-suite-root-volume"

func rootVolumeTrust(ctx context.Context, r *runner) error {
	const window = 4 * time.Second
	key, err := r.recordKeyEnv(ctx)
	if err != nil {
		return err
	}
	// The stack as the attackers meet it: its bus and table, whose
	// resource policies the IAM layer evaluates as infra/sam writes them.
	if _, err := eventbridge.NewFromConfig(r.cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(rootVolumeBus)}); err != nil {
		return fmt.Errorf("create the bus: %w", err)
	}
	st, err := iam.LoadStack("root-volume.yaml", cfn.Env{Account: awstest.DefaultAccount, Region: awstest.Region, Names: map[string]string{
		"RootVolumeBus": rootVolumeBus, "RootVolumeReplacementsTable": replacementsTable,
		"RootVolumeRecordKey": r.acct.recordKey[strings.LastIndex(r.acct.recordKey, "/")+1:],
	}})
	if err != nil {
		return err
	}
	r.iam.AddStack(st)
	developer, err := r.principal("developer", fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Scan"], "Resource": "arn:aws:dynamodb:%s:%s:table/%s"},
		{"Effect": "Allow", "Action": ["events:PutEvents", "kms:*"], "Resource": "*"}]}`, awstest.Region, awstest.DefaultAccount, replacementsTable))
	if err != nil {
		return err
	}
	tagger, err := r.principal("tagger", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:Describe*"], "Resource": "*"}]}`)
	if err != nil {
		return err
	}

	cleanup, err := r.start("root-volume-cleanup", "SNAPSHOT_TAG="+snapshotTag, "DELETE_VOLUME_TAG="+deleteTag, "MIN_AGE=0s",
		"RETAIN_REPLACED="+window.String(), "REPLACEMENTS_TABLE="+replacementsTable, key, "AWS_ENDPOINT_URL="+r.standIn.URL)
	if err != nil {
		return err
	}
	defer cleanup.Close()
	scheduled, err := r.event("root-volume-cleanup", "scheduled.json")
	if err != nil {
		return err
	}
	run := func() (*inventory, trustSummary, error) {
		inv, res, err := r.invokeResult(ctx, cleanup, scheduled)
		var sum trustSummary
		if err == nil {
			err = json.Unmarshal(res.Payload, &sum)
		}
		return inv, sum, err
	}

	// 1. A forged replacement record.
	victim := r.acct.replacedRoot
	month := time.Now().UTC().Add(-30 * 24 * time.Hour)
	r.step("a developer with DynamoDB write on the table forges a record: %s replaced a month ago, task succeeded", victim)
	forged, err := attributevalue.MarshalMap(rootvolume.Replacement{ID: "replacement#forged", Kind: rootvolume.KindReplacement,
		ClientToken: "forged", InstanceID: r.acct.web1.ID, ReplacedVolumeID: victim, RestoreTo: rootvolume.RestoreLaunchState,
		RequestedAt: month, TaskID: "replacevol-0123456789abcdef0", State: rootvolume.StateSucceeded, CompletedAt: &month, UpdatedAt: month})
	if err != nil {
		return err
	}
	if _, err := dynamodb.NewFromConfig(developer).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(replacementsTable), Item: forged}); err != nil {
		return fmt.Errorf("the developer's PutItem: %w", err)
	}
	inv, sum, err := run()
	if err != nil {
		return err
	}
	r.check(inv.volume(victim) != nil && sum.reason(victim) == string(rootvolume.ReasonUnsealed),
		"refused: %s is kept, %q", victim, sum.reason(victim))
	r.check(sum.untrusted("replacement#forged") == "unsealed", "reported: the summary lists the record as untrusted (%s); the RecordsUntrusted metric and the notification topic say so too",
		sum.untrusted("replacement#forged"))

	// 2. A tag plus PutEvents reset.
	db1 := r.acct.db1
	r.step("a tagger opts %s (db-1) in; an account principal with events:PutEvents asks on the bus to reset it and delete its root", db1.ID)
	if _, err := ec2.NewFromConfig(tagger).CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{db1.ID},
		Tags: ec2Tags([]string{optInKey, optInValue})}); err != nil {
		return fmt.Errorf("the tagger's CreateTags: %w", err)
	}
	detail, _ := json.Marshal(rootvolume.ReplaceRequest{InstanceID: db1.ID, RestoreTo: rootvolume.RestoreLaunchState, DeleteReplacedVolume: true})
	_, err = eventbridge.NewFromConfig(developer).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(rootVolumeBus), Source: aws.String(rootvolume.EventSource),
		DetailType: aws.String(rootvolume.ReplaceDetailType), Detail: aws.String(string(detail)),
	}}})
	after, rerr := readInventory(ctx, r.ec2)
	if rerr != nil {
		return rerr
	}
	r.check(err != nil && strings.Contains(err.Error(), "events:PutEvents") && after.rootVolume(db1.ID) == db1.RootVolume,
		"refused by the bus's policy (RootVolumeBusPrincipals names nobody): %v; db-1's root is still %s", clip(err), db1.RootVolume)

	// 3. A rolled-back root.
	s := seeder{ctx: ctx, c: r.ec2}
	s.pickImage()
	inst := s.launch("rollback-1", optInKey, optInValue)
	if s.err != nil {
		return s.err
	}
	replace, err := r.startReplace(ctx)
	if err != nil {
		return err
	}
	defer replace.Close()
	req, err := r.request("launch-state.json", inst.ID)
	if err != nil {
		return err
	}
	r.step("replace rollback-1's root (%s), then roll back: the old root goes back on %s", inst.RootVolume, inst.RootDevice)
	if inv, err = r.invoke(ctx, replace, req); err != nil {
		return err
	}
	newRoot := inv.rootVolume(inst.ID)
	if err := r.swapRoot(ctx, inst, newRoot, inst.RootVolume); err != nil {
		return err
	}
	if inv, sum, err = run(); err != nil {
		return err
	}
	r.check(inv.rootVolume(inst.ID) == inst.RootVolume && strings.HasPrefix(sum.reason(inst.RootVolume), string(rootvolume.ReasonIsRoot)),
		"the cleanup sees %s as a root again and records it (sealed): %q", inst.RootVolume, sum.reason(inst.RootVolume))
	r.step("later, the old root is detached again (the new one back on), and the rollback window (%s) passes", window)
	if err := r.swapRoot(ctx, inst, inst.RootVolume, newRoot); err != nil {
		return err
	}
	time.Sleep(window)
	if inv, sum, err = run(); err != nil {
		return err
	}
	r.check(inv.volume(inst.RootVolume) != nil && sum.reason(inst.RootVolume) == string(rootvolume.ReasonRolledBack),
		"the rolled-back root %s survives its next detach: %q", inst.RootVolume, sum.reason(inst.RootVolume))
	return nil
}

// trustSummary is the part of root-volume-cleanup's answer these checks read.
type trustSummary struct {
	cleanupSummary
	Untrusted []struct{ ID, Trust string } `json:"untrusted"`
}

func (s trustSummary) untrusted(id string) string {
	for _, u := range s.Untrusted {
		if u.ID == id {
			return u.Trust
		}
	}
	return ""
}

// principal registers an insider of the sample account in the IAM layer.
func (r *runner) principal(name, policy string) (aws.Config, error) {
	p, err := r.iam.NewPrincipal(name, awstest.DefaultAccount, policy)
	if err != nil {
		return aws.Config{}, err
	}
	return r.iam.Config(r.cfg, p), nil
}

// swapRoot takes one volume off the instance's root device and puts
// another on, as an operator's rollback (or its undoing) does.
func (r *runner) swapRoot(ctx context.Context, in instance, off, on string) error {
	if _, err := r.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(off), InstanceId: aws.String(in.ID), Device: aws.String(in.RootDevice)}); err != nil {
		return err
	}
	_, err := r.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(on), InstanceId: aws.String(in.ID), Device: aws.String(in.RootDevice)})
	return err
}

func clip(err error) string {
	if err == nil {
		return "allowed"
	}
	s := err.Error()
	if i := strings.Index(s, "is not authorized"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
