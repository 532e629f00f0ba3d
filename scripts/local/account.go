package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// The suite's tags as the driver configures every function, so the report
// can name them; they are the functions' defaults too.
const (
	snapshotTagKey, snapshotTagValue = "replace-snapshot", "true"
	deleteTagKey, deleteTagValue     = "delete-volume", "true"
	optInKey, optInValue             = "root-volume-replace", "enabled"
	zone                             = "us-east-1a"
	// replacementsTable is the root-volume functions' REPLACEMENTS_TABLE.
	replacementsTable = "lambda-suite-replacements"
)

var (
	snapshotTag = snapshotTagKey + "=" + snapshotTagValue
	deleteTag   = deleteTagKey + "=" + deleteTagValue
)

type instance struct {
	ID, Name, RootDevice, RootVolume string
}

// account is the sample account every scenario starts from, by role.
type account struct {
	// web-1, web-2, app-1 and app-2 opt in to root-volume replacement;
	// db-1 does not.
	web1, web2, app1, app2, db1 instance
	dataVolume                  string // attached to web-1 at /dev/sdf: never snapshotted
	// replacedRoot is an old root volume, detached and tagged for deletion.
	replacedRoot string
	// taggedAttached is tagged for deletion but still attached: kept.
	taggedAttached string
	// web2Snapshot is a replacement snapshot of web-2's root volume.
	web2Snapshot string
	// orphanSnapshot is a replacement snapshot whose volume is gone.
	orphanSnapshot string
	// amiSnapshot is tagged like orphanSnapshot, but backs ami: kept.
	amiSnapshot, ami string
	// untaggedSnapshot is nobody's business but its owner's.
	untaggedSnapshot string
	// recordKey is the root-volume record key (PROOF_KEY_ARN), made the
	// first time a root-volume function starts.
	recordKey string
}

// seed creates the sample account in moto's default account, the one the
// function binaries act in.
func seed(ctx context.Context, c *ec2.Client, db *dynamodb.Client) (*account, error) {
	s := seeder{ctx: ctx, c: c}
	a := &account{}
	s.pickImage()
	a.web1 = s.launch("web-1", optInKey, optInValue)
	a.web2 = s.launch("web-2", optInKey, optInValue)
	a.app1 = s.launch("app-1", optInKey, optInValue)
	a.app2 = s.launch("app-2", optInKey, optInValue)
	a.db1 = s.launch("db-1")

	a.dataVolume = s.volume("web-1 data")
	s.attach(a.dataVolume, a.web1.ID, "/dev/sdf")
	a.replacedRoot = s.volume("old web-1 root, replaced", deleteTagKey, deleteTagValue)
	a.taggedAttached = s.volume("web-2 scratch, tagged but in use", deleteTagKey, deleteTagValue)
	s.attach(a.taggedAttached, a.web2.ID, "/dev/sdg")

	// As snapshot-on-volume-create takes it: tagged, and the suite's marker
	// naming the volume in its description (a restore needs both).
	a.web2Snapshot = s.snapshot(a.web2.RootVolume, rootvolume.SnapshotDescription(a.web2.RootVolume, a.web2.ID, a.web2.RootDevice), snapshotTagKey, snapshotTagValue)

	gone := s.volume("short-lived")
	a.orphanSnapshot = s.snapshot(gone, "orphan: its volume is gone", snapshotTagKey, snapshotTagValue)
	s.call("DeleteVolume", func() error {
		_, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(gone)})
		return err
	})

	// An AMI made from a builder that is then terminated: its snapshot's
	// volume is gone too, so only the AMI protects it from the cleanup.
	builder := s.launch("image-builder")
	a.ami, a.amiSnapshot = s.image(builder.ID, "golden-image")
	s.tag(a.amiSnapshot, "Name", "golden-image root", snapshotTagKey, snapshotTagValue)
	s.call("TerminateInstances", func() error {
		_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{builder.ID}})
		return err
	})

	a.untaggedSnapshot = s.snapshot(a.dataVolume, "web-1 data backup")

	// The replacements table, as the stack creates it.
	s.call("CreateTable", func() error { return awstest.MakeTable(ctx, db, replacementsTable, "expiresAt") })
	return a, s.err
}

// seeder stops at its first error, so seed reads as the list of what the
// account holds.
type seeder struct {
	ctx context.Context
	c   *ec2.Client
	ami string // what instances launch from
	err error
}

func (s *seeder) call(op string, f func() error) {
	if s.err != nil {
		return
	}
	if err := f(); err != nil {
		s.err = fmt.Errorf("%s: %w", op, err)
	}
}

// pickImage chooses one of moto's public AMIs whose root device is
// /dev/sda1: moto attaches every root volume at /dev/sda1, whatever the
// AMI's root device name, so only such an AMI gives a true root volume.
func (s *seeder) pickImage() {
	s.call("DescribeImages", func() error {
		out, err := s.c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{
			Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"ubuntu/images/*"}}},
		})
		if err != nil {
			return err
		}
		var ids []string
		for _, im := range out.Images {
			if aws.ToString(im.RootDeviceName) == "/dev/sda1" {
				ids = append(ids, aws.ToString(im.ImageId))
			}
		}
		if len(ids) == 0 {
			return fmt.Errorf("moto offers no ubuntu image with root device /dev/sda1")
		}
		s.ami = slices.Min(ids)
		return nil
	})
}

// launch starts an instance named name, with more tags (key, value...).
func (s *seeder) launch(name string, tags ...string) instance {
	var in instance
	s.call("RunInstances "+name, func() error {
		out, err := s.c.RunInstances(s.ctx, &ec2.RunInstancesInput{
			ImageId:      aws.String(s.ami),
			InstanceType: types.InstanceTypeT3Micro,
			MinCount:     aws.Int32(1),
			MaxCount:     aws.Int32(1),
			Placement:    &types.Placement{AvailabilityZone: aws.String(zone)},
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeInstance,
				Tags:         ec2Tags(append([]string{"Name", name}, tags...)),
			}},
		})
		if err != nil {
			return err
		}
		i := out.Instances[0]
		in = instance{ID: aws.ToString(i.InstanceId), Name: name, RootDevice: aws.ToString(i.RootDeviceName)}
		for _, m := range i.BlockDeviceMappings {
			if m.Ebs != nil && aws.ToString(m.DeviceName) == in.RootDevice {
				in.RootVolume = aws.ToString(m.Ebs.VolumeId)
			}
		}
		if in.RootVolume == "" {
			return fmt.Errorf("instance %s has no volume at its root device %s", in.ID, in.RootDevice)
		}
		return nil
	})
	s.tag(in.RootVolume, "Name", name+" root")
	return in
}

func (s *seeder) volume(name string, tags ...string) string {
	var id string
	s.call("CreateVolume "+name, func() error {
		out, err := s.c.CreateVolume(s.ctx, &ec2.CreateVolumeInput{
			AvailabilityZone: aws.String(zone),
			Size:             aws.Int32(8),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeVolume,
				Tags:         ec2Tags(append([]string{"Name", name}, tags...)),
			}},
		})
		if err == nil {
			id = aws.ToString(out.VolumeId)
		}
		return err
	})
	return id
}

func (s *seeder) attach(volume, instanceID, device string) {
	s.call("AttachVolume "+volume, func() error {
		_, err := s.c.AttachVolume(s.ctx, &ec2.AttachVolumeInput{
			VolumeId: aws.String(volume), InstanceId: aws.String(instanceID), Device: aws.String(device),
		})
		return err
	})
}

func (s *seeder) snapshot(volume, name string, tags ...string) string {
	var id string
	s.call("CreateSnapshot "+name, func() error {
		out, err := s.c.CreateSnapshot(s.ctx, &ec2.CreateSnapshotInput{
			VolumeId: aws.String(volume),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeSnapshot,
				Tags:         ec2Tags(append([]string{"Name", name}, tags...)),
			}},
		})
		if err == nil {
			id = aws.ToString(out.SnapshotId)
		}
		return err
	})
	return id
}

// image makes an AMI of the instance and returns it with its root snapshot.
func (s *seeder) image(instanceID, name string) (ami, snapshot string) {
	s.call("CreateImage "+name, func() error {
		out, err := s.c.CreateImage(s.ctx, &ec2.CreateImageInput{InstanceId: aws.String(instanceID), Name: aws.String(name)})
		if err != nil {
			return err
		}
		ami = aws.ToString(out.ImageId)
		desc, err := s.c.DescribeImages(s.ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
		if err != nil {
			return err
		}
		for _, im := range desc.Images {
			for _, m := range im.BlockDeviceMappings {
				if m.Ebs != nil && m.Ebs.SnapshotId != nil {
					snapshot = aws.ToString(m.Ebs.SnapshotId)
				}
			}
		}
		if snapshot == "" {
			return fmt.Errorf("image %s has no EBS snapshot", ami)
		}
		return nil
	})
	return ami, snapshot
}

func (s *seeder) tag(id string, kv ...string) {
	s.call("CreateTags "+id, func() error {
		_, err := s.c.CreateTags(s.ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ec2Tags(kv)})
		return err
	})
}

// ec2Tags turns key, value, key, value... into EC2 tags.
func ec2Tags(kv []string) []types.Tag {
	var tags []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tags
}

// describe lists the sample account's roles, for the report.
func (a *account) describe() []string {
	return []string{
		fmt.Sprintf("web-1 %s and web-2 %s, root volumes %s and %s at %s", a.web1.ID, a.web2.ID, a.web1.RootVolume, a.web2.RootVolume, a.web1.RootDevice),
		fmt.Sprintf("app-1 %s and app-2 %s; these four opt in to replacement (%s=%s)", a.app1.ID, a.app2.ID, optInKey, optInValue),
		fmt.Sprintf("db-1 %s, which does not opt in", a.db1.ID),
		fmt.Sprintf("a data volume %s on web-1 at /dev/sdf", a.dataVolume),
		fmt.Sprintf("a volume %s, detached, tagged %s by hand or by the earlier version (no record)", a.replacedRoot, deleteTag),
		fmt.Sprintf("a volume %s tagged %s but attached to web-2 (must be kept)", a.taggedAttached, deleteTag),
		fmt.Sprintf("a snapshot %s of web-2's root volume, tagged %s", a.web2Snapshot, snapshotTag),
		fmt.Sprintf("an orphan snapshot %s tagged %s, its volume deleted, without the suite's marker", a.orphanSnapshot, snapshotTag),
		fmt.Sprintf("a snapshot %s tagged %s backing AMI %s (must be kept)", a.amiSnapshot, snapshotTag, a.ami),
		fmt.Sprintf("an untagged snapshot %s of the data volume", a.untaggedSnapshot),
	}
}
