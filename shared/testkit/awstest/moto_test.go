package awstest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestAccountsAreIsolatedAndCallsCounted(t *testing.T) {
	srv := Moto(t)
	ctx := context.Background()
	calls := NewCalls()
	cfgA, _ := srv.Config(t)
	cfgA.APIOptions = append(cfgA.APIOptions, calls.Middleware)
	cfgB, _ := srv.Config(t)
	a, b := ec2.NewFromConfig(cfgA), ec2.NewFromConfig(cfgB)

	vol, err := a.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(8)})
	if err != nil {
		t.Fatalf("CreateVolume: %v", err)
	}
	gotA, err := a.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	if err != nil {
		t.Fatalf("DescribeVolumes A: %v", err)
	}
	if len(gotA.Volumes) != 1 || aws.ToString(gotA.Volumes[0].VolumeId) != aws.ToString(vol.VolumeId) {
		t.Errorf("account A volumes = %d, want only %s", len(gotA.Volumes), aws.ToString(vol.VolumeId))
	}
	gotB, err := b.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	if err != nil {
		t.Fatalf("DescribeVolumes B: %v", err)
	}
	if len(gotB.Volumes) != 0 {
		t.Errorf("account B sees %d volumes, want 0", len(gotB.Volumes))
	}
	if got := calls.Count("EC2.CreateVolume"); got != 1 {
		t.Errorf("Count(EC2.CreateVolume) = %d, want 1", got)
	}
	if got := calls.Total("Describe"); got != 1 {
		t.Errorf("Total(Describe) = %d, want 1 (%s)", got, calls)
	}
	if got := calls.Writes(); len(got) != 1 || got["EC2.CreateVolume"] != 1 {
		t.Errorf("Writes() = %v, want only EC2.CreateVolume=1", got)
	}
}
