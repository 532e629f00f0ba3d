package signin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrReplayed: the state was consumed before (a callback replayed).
var ErrReplayed = errors.New("the sign-in state was used before")

// States remembers which sign-in states were used, so that each callback
// is accepted once. Consume records state as used until expires (after
// that the flow cookie that carries it has expired, so the record may go);
// it returns ErrReplayed (wrapped or not) when state was consumed before,
// and any other error when the record could not be written, in which case
// the sign-in is not accepted either.
type States interface {
	Consume(ctx context.Context, state string, expires time.Time) error
}

// tableAPI is the DynamoDB call TableStates makes.
type tableAPI interface {
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ tableAPI = (*dynamodb.Client)(nil)

// StatePrefix begins the partition key of a used-state item.
const StatePrefix = "signin#state#"

// TableStates keeps used states in a table of the suite's shape (the
// approval table: string partition key "id", TTL on the number attribute
// "expiresAt"): one item per state, id = StatePrefix + the state's
// SHA-256 in hex (the state itself is not stored), written with
// attribute_not_exists(id), so that of two callbacks with one state,
// however concurrent, exactly one is accepted. A role that writes them needs
// dynamodb:PutItem on the table, which can be narrowed with
// dynamodb:LeadingKeys "signin#state#*".
type TableStates struct {
	DB    tableAPI
	Table string
}

// Consume writes state's item unless it exists.
func (s TableStates) Consume(ctx context.Context, state string, expires time.Time) error {
	sum := sha256.Sum256([]byte(state))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item: map[string]types.AttributeValue{
			"id":        &types.AttributeValueMemberS{Value: StatePrefix + hex.EncodeToString(sum[:])},
			"expiresAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(expires.Unix(), 10)},
		},
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var used *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &used):
		return ErrReplayed
	case err != nil:
		return fmt.Errorf("record the sign-in state as used: %w", err)
	}
	return nil
}
