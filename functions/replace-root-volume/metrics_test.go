package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each request's outcome is a metric, flushed before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	f.h.metrics = metrics.New("replace-fn", &out)
	inst := optedIn(t, f.ec2, "builder")
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	req := request(t, "eventbridge-request.json", aws.ToString(inst.InstanceId))
	notOptedIn := []byte(strings.Replace(string(request(t, "eventbridge-request.json", aws.ToString(awstest.RunInstance(t, f.ec2, "other").InstanceId))),
		`"id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"`, `"id": "another-event"`, 1))

	for _, tc := range []struct {
		req     []byte
		wantErr bool
		want    map[string]float64
	}{
		{req, false, map[string]float64{"ReplacementsStarted": 1}},
		{req, false, map[string]float64{"ReplacementsFoundAgain": 1}},
		{notOptedIn, true, map[string]float64{"ReplacementsNotStarted/not opted in": 1}},
		{[]byte(`{"instanceId": 7}`), true, map[string]float64{"ReplacementsNotStarted/bad request": 1}},
	} {
		out.Reset()
		if _, err := f.h.Handle(context.Background(), tc.req); (err != nil) != tc.wantErr {
			t.Fatalf("Handle(%s) = %v, want error %v", tc.req, err, tc.wantErr)
		}
		emf.Want(t, out.Bytes(), "replace-fn", tc.want)
	}
}
