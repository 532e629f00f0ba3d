package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// A create whose first attempt landed but whose answer was lost is retried
// and answered "already exists": the helper takes that as made, and the
// table is there with its TTL.
func TestCreateTableTakesARetriedCreateAsMade(t *testing.T) {
	cfg, _ := Moto(t).Config(t)
	db := dynamodb.NewFromConfig(cfg)
	CreateTable(t, db, "decisions", "expiresAt")
	CreateTable(t, db, "decisions", "expiresAt") // as a retry would
	ttl, err := db.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("decisions")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != "expiresAt" {
		t.Errorf("TTL attribute = %q, want expiresAt", got)
	}
}
