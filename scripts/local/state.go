package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// row is one resource as the report shows it.
type row struct {
	ID   string
	Name string
	Cols []string          // the table's other columns, in header order
	Tags map[string]string // every tag but Name
}

type table struct {
	Kind    string // instance, volume, snapshot
	Headers []string
	Rows    []row
}

// state is the account as a person reads it: instances, volumes, snapshots.
type state []table

// inventory is the sample account as the SDK lists it.
type inventory struct {
	instances []types.Instance
	volumes   []types.Volume
	snapshots []types.Snapshot // the account's own
	images    []types.Image    // the account's own
}

func readInventory(ctx context.Context, c *ec2.Client) (*inventory, error) {
	inv := &inventory{}
	ip := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, r := range page.Reservations {
			inv.instances = append(inv.instances, r.Instances...)
		}
	}
	vp := ec2.NewDescribeVolumesPaginator(c, &ec2.DescribeVolumesInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe volumes: %w", err)
		}
		inv.volumes = append(inv.volumes, page.Volumes...)
	}
	// moto lists its public snapshots too unless asked for the account's own.
	sp := ec2.NewDescribeSnapshotsPaginator(c, &ec2.DescribeSnapshotsInput{
		Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{awstest.DefaultAccount}}},
	})
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe snapshots: %w", err)
		}
		inv.snapshots = append(inv.snapshots, page.Snapshots...)
	}
	images, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		return nil, fmt.Errorf("describe images: %w", err)
	}
	inv.images = images.Images
	return inv, nil
}

func (inv *inventory) volume(id string) *types.Volume {
	for i := range inv.volumes {
		if aws.ToString(inv.volumes[i].VolumeId) == id {
			return &inv.volumes[i]
		}
	}
	return nil
}

func (inv *inventory) snapshot(id string) *types.Snapshot {
	for i := range inv.snapshots {
		if aws.ToString(inv.snapshots[i].SnapshotId) == id {
			return &inv.snapshots[i]
		}
	}
	return nil
}

// rootVolume is the volume at the instance's root device, or "".
func (inv *inventory) rootVolume(instanceID string) string {
	for _, in := range inv.instances {
		if aws.ToString(in.InstanceId) != instanceID {
			continue
		}
		for _, m := range in.BlockDeviceMappings {
			if m.Ebs != nil && strings.TrimPrefix(aws.ToString(m.DeviceName), "/dev/") == strings.TrimPrefix(aws.ToString(in.RootDeviceName), "/dev/") {
				return aws.ToString(m.Ebs.VolumeId)
			}
		}
	}
	return ""
}

// taggedSnapshots returns the snapshots carrying tag key=value, of the
// volume or, with volumeID "", of any volume.
func (inv *inventory) taggedSnapshots(volumeID, key, value string) []types.Snapshot {
	var out []types.Snapshot
	for _, s := range inv.snapshots {
		if (volumeID == "" || aws.ToString(s.VolumeId) == volumeID) && ec2tag.Value(s.Tags, key) == value {
			out = append(out, s)
		}
	}
	return out
}

// amiSnapshots maps each snapshot behind one of the account's AMIs to it.
// markedSnapshots are the snapshots of volumeID whose description carries
// the suite's marker naming that volume.
func (inv *inventory) markedSnapshots(volumeID string) []types.Snapshot {
	var out []types.Snapshot
	for _, s := range inv.snapshots {
		if vol, ok := rootvolume.MarkedVolume(aws.ToString(s.Description)); ok && vol == volumeID && aws.ToString(s.VolumeId) == volumeID {
			out = append(out, s)
		}
	}
	return out
}

func (inv *inventory) amiSnapshots() map[string]string {
	backs := map[string]string{}
	for _, im := range inv.images {
		for _, m := range im.BlockDeviceMappings {
			if m.Ebs != nil && m.Ebs.SnapshotId != nil {
				backs[aws.ToString(m.Ebs.SnapshotId)] = aws.ToString(im.ImageId)
			}
		}
	}
	return backs
}

// state renders the inventory as tables, each sorted by name.
func (inv *inventory) state() state {
	instName := map[string]string{}
	instances := table{Kind: "instance", Headers: []string{"STATE", "ROOT DEVICE", "ROOT VOLUME"}}
	for _, in := range inv.instances {
		id, name := aws.ToString(in.InstanceId), ec2tag.Value(in.Tags, "Name")
		instName[id] = cmp.Or(name, id)
		root := inv.rootVolume(id)
		state := ""
		if in.State != nil {
			state = string(in.State.Name)
		}
		instances.Rows = append(instances.Rows, newRow(id, in.Tags, state, aws.ToString(in.RootDeviceName), cmp.Or(root, "-")))
	}

	volName := map[string]string{}
	volumes := table{Kind: "volume", Headers: []string{"STATE", "SIZE", "ATTACHED TO"}}
	for _, v := range inv.volumes {
		id := aws.ToString(v.VolumeId)
		volName[id] = ec2tag.Value(v.Tags, "Name")
		attached := "-"
		if len(v.Attachments) > 0 {
			a := v.Attachments[0]
			attached = instName[aws.ToString(a.InstanceId)] + " " + aws.ToString(a.Device)
		}
		volumes.Rows = append(volumes.Rows, newRow(id, v.Tags, string(v.State), fmt.Sprintf("%d GiB", aws.ToInt32(v.Size)), attached))
	}

	backs := inv.amiSnapshots()
	snapshots := table{Kind: "snapshot", Headers: []string{"OF VOLUME", "BACKS AMI"}}
	for _, s := range inv.snapshots {
		vol := aws.ToString(s.VolumeId)
		of := vol + " (gone)"
		if name, ok := volName[vol]; ok {
			of = vol + " (" + cmp.Or(name, "exists") + ")"
		}
		snapshots.Rows = append(snapshots.Rows, newRow(aws.ToString(s.SnapshotId), s.Tags, of, cmp.Or(backs[aws.ToString(s.SnapshotId)], "-")))
	}

	st := state{instances, volumes, snapshots}
	for _, t := range st {
		slices.SortFunc(t.Rows, func(a, b row) int {
			return strings.Compare(a.Name+"\x00"+a.ID, b.Name+"\x00"+b.ID)
		})
	}
	return st
}

func newRow(id string, tags []types.Tag, cols ...string) row {
	r := row{ID: id, Cols: cols, Tags: map[string]string{}}
	for _, t := range tags {
		if aws.ToString(t.Key) == "Name" {
			r.Name = aws.ToString(t.Value)
			continue
		}
		r.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return r
}

func (r row) tagList() string {
	keys := slices.Sorted(maps.Keys(r.Tags))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + r.Tags[k]
	}
	return strings.Join(parts, " ")
}

func (st state) print(w io.Writer) {
	for _, t := range st {
		fmt.Fprintf(w, "\n%sS (%d)\n", strings.ToUpper(t.Kind), len(t.Rows))
		if len(t.Rows) == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "   ID\tNAME\t%s\tTAGS\n", strings.Join(t.Headers, "\t"))
		for _, r := range t.Rows {
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", r.ID, cmp.Or(r.Name, "-"), strings.Join(r.Cols, "\t"), r.tagList())
		}
		tw.Flush()
	}
}

// diff says, one line each, what was created, deleted or changed between
// two readings of the account.
func diff(before, after state) []string {
	var out []string
	for i, a := range after {
		var b table
		if i < len(before) {
			b = before[i]
		}
		old := map[string]row{}
		for _, r := range b.Rows {
			old[r.ID] = r
		}
		seen := map[string]bool{}
		for _, r := range a.Rows {
			seen[r.ID] = true
			o, ok := old[r.ID]
			label := a.Kind + " " + r.ID + nameSuffix(r.Name)
			if !ok {
				var cols []string
				for j, h := range a.Headers {
					if r.Cols[j] != "-" {
						cols = append(cols, strings.ToLower(h)+" "+r.Cols[j])
					}
				}
				if len(r.Tags) > 0 {
					cols = append(cols, "tags "+r.tagList())
				}
				out = append(out, fmt.Sprintf("+ %s created: %s", label, strings.Join(cols, "; ")))
				continue
			}
			var changes []string
			for j, h := range a.Headers {
				if j < len(o.Cols) && o.Cols[j] != r.Cols[j] {
					changes = append(changes, fmt.Sprintf("%s %s → %s", strings.ToLower(h), o.Cols[j], r.Cols[j]))
				}
			}
			if o.Name != r.Name {
				changes = append(changes, fmt.Sprintf("name %q → %q", o.Name, r.Name))
			}
			changes = append(changes, tagChanges(o.Tags, r.Tags)...)
			if len(changes) > 0 {
				out = append(out, fmt.Sprintf("~ %s: %s", label, strings.Join(changes, "; ")))
			}
		}
		for _, r := range b.Rows {
			if !seen[r.ID] {
				out = append(out, fmt.Sprintf("- %s deleted", a.Kind+" "+r.ID+nameSuffix(r.Name)))
			}
		}
	}
	return out
}

func tagChanges(old, cur map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		if v, ok := old[k]; !ok {
			out = append(out, "tag +"+k+"="+cur[k])
		} else if v != cur[k] {
			out = append(out, "tag "+k+" "+v+" → "+cur[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[k]; !ok {
			out = append(out, "tag -"+k)
		}
	}
	return out
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " (" + name + ")"
}
