package awstest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTable makes a table as the suite's stacks do: a string partition
// key "id", no sort key, on-demand, and TTL on ttlAttribute unless it is "".
// It stops the test on failure; MakeTable is the same for callers that are
// not tests (make local).
func CreateTable(tb testing.TB, db *dynamodb.Client, name, ttlAttribute string) {
	tb.Helper()
	if err := MakeTable(context.Background(), db, name, ttlAttribute); err != nil {
		tb.Fatal(err)
	}
}

// MakeTable is CreateTable returning its error.
//
// A "table already exists" answer counts as made: every test has an account
// of its own, so only this call can have made it, on an attempt whose
// answer was lost when moto dropped the connection and the client retried
// (see connectionRetryer). Without that, CreateTable, which is not
// idempotent, failed such a test now and then under load.
func MakeTable(ctx context.Context, db *dynamodb.Client, name, ttlAttribute string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	var inUse *dbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("CreateTable %s: %w", name, err)
	}
	if ttlAttribute == "" {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("UpdateTimeToLive %s: %w", name, err)
	}
	return nil
}
