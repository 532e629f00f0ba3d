package approvaltest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// errStopped is what the stopping invocation's table and EC2 answer once
// it has "stopped".
var errStopped = errors.New("the invocation stopped here (approvaltest)")

// Stop approves the request of token with d and stops the invocation right
// after its first AMI is shared, as a time-out or crash would: the first
// AMI carries the targets' launch permission, and the record says
// "sharing", with that AMI as possibly shared, written at at, and nobody
// was told. Everything is written by the real code, so the record is sealed
// as any stopped approval's: the table refuses every write after the first
// AMI's record, EC2 every undo, and SNS every notice. d is changed (its
// clock, table, EC2 and SNS clients).
func Stop(ctx context.Context, d *approval.Decider, token approval.Token, at time.Time) error {
	writes := &stoppingTable{DB: d.Store.DB, after: 2} // the decision, and the first AMI's mark
	store := *d.Store
	store.DB = writes
	d.Store = &store
	d.Now = func() time.Time { return at }
	ec2s := d.EC2
	d.EC2 = &approval.Regional[approval.ImageAPI]{New: func(region string) approval.ImageAPI {
		return noUndo{ec2s.In(region), writes}
	}}
	d.SNS = noNotice{}
	res, err := d.Decide(ctx, token, approval.Approve, approval.Who{SourceIP: "192.0.2.1", UserAgent: "approvaltest.Stop"})
	if errors.Is(err, errStopped) || (err == nil && res.Unrecorded) {
		return nil
	}
	return fmt.Errorf("approve, stopping after the first share = %+v, %v; want it stopped, unrecorded", res.Request.Outcome, err)
}

// MustStop is Stop for a test.
func MustStop(tb testing.TB, d *approval.Decider, token approval.Token, at time.Time) {
	tb.Helper()
	if err := Stop(context.Background(), d, token, at); err != nil {
		tb.Fatal(err)
	}
}

// stoppingTable passes the first `after` UpdateItem calls on, and refuses
// every write from then on.
type stoppingTable struct {
	DB interface {
		GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
		PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
		UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
		TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
		Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	}
	after   int32
	updates atomic.Int32
}

func (s *stoppingTable) stopped() bool { return s.updates.Load() >= s.after }

func (s *stoppingTable) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return s.DB.GetItem(ctx, in, o...)
}

func (s *stoppingTable) Scan(ctx context.Context, in *dynamodb.ScanInput, o ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return s.DB.Scan(ctx, in, o...)
}

func (s *stoppingTable) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if s.stopped() {
		return nil, errStopped
	}
	return s.DB.PutItem(ctx, in, o...)
}

func (s *stoppingTable) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if s.updates.Add(1) > s.after {
		return nil, errStopped
	}
	return s.DB.UpdateItem(ctx, in, o...)
}

func (s *stoppingTable) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if s.stopped() {
		return nil, errStopped
	}
	return s.DB.TransactWriteItems(ctx, in, o...)
}

// noUndo is EC2 as the stopped invocation sees it: shares go through until
// the table stops, and no launch permission is taken back.
type noUndo struct {
	approval.ImageAPI
	table *stoppingTable
}

func (n noUndo) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	if n.table.updates.Load() > n.table.after || (in.LaunchPermission != nil && len(in.LaunchPermission.Remove) > 0) {
		return nil, fmt.Errorf("modify %s: %w", aws.ToString(in.ImageId), errStopped)
	}
	return n.ImageAPI.ModifyImageAttribute(ctx, in, o...)
}

// noNotice is SNS as the stopped invocation sees it.
type noNotice struct{}

func (noNotice) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return nil, errStopped
}

// TokenIn returns the token of the approval link in an email's body.
func TokenIn(body string) (approval.Token, error) {
	_, rest, ok := strings.Cut(body, "?token=")
	if !ok {
		return approval.Token{}, errors.New("no approval link in the email")
	}
	secret, _, _ := strings.Cut(rest, "\n")
	return approval.ParseToken(secret)
}
