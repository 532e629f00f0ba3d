package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// CreateTable makes a table as the suite's stacks do: a string partition
// key "id", no sort key, on-demand, and TTL on ttlAttribute unless it is "".
//
// A "table already exists" answer counts as made: every test has an account
// of its own, so only this call can have made it, on an attempt whose
// answer was lost when moto dropped the connection and the client retried
// (see connectionRetryer). Without that, CreateTable, which is not
// idempotent, failed such a test now and then under load.
func CreateTable(tb testing.TB, db *dynamodb.Client, name, ttlAttribute string) {
	tb.Helper()
	ctx := context.Background()
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	var inUse *dbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		tb.Fatalf("CreateTable %s: %v", name, err)
	}
	if ttlAttribute == "" {
		return
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttlAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		tb.Fatalf("UpdateTimeToLive %s: %v", name, err)
	}
}
